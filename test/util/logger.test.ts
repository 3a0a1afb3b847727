import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/util/logger.js';

function capture(): { stream: Writable; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe('createLogger', () => {
  it('never writes a secret, wherever it sits in a logged object', () => {
    const out = capture();
    const logger = createLogger({ level: 'debug' }, out.stream);
    const secret = 'hunter2-s3cret';
    logger.info({ password: secret }, 'top');
    logger.info({ bridge: { remote_password: secret, remote_username: 'bridge' } }, 'config section');
    logger.info({ config: { bridges: { cloud: { remote_password: secret } } } }, 'deep');
    logger.child({ module: 'x' }).warn({ tls: { key: secret, passphrase: secret } }, 'tls');
    logger.error({ headers: { authorization: `Basic ${secret}` } }, 'http');
    const text = out.text();
    expect(text).not.toContain(secret);
    expect(text.match(/\[redacted\]/g)?.length).toBe(6);
    expect(text).toContain('"remote_username":"bridge"'); // only secrets go
  });

  it('writes JSON lines at the level asked for', () => {
    const out = capture();
    const logger = createLogger({ level: 'warn' }, out.stream);
    logger.info('hidden');
    logger.warn({ module: 'm' }, 'shown');
    const lines = out.text().trim().split('\n').map((line) => JSON.parse(line) as { msg: string; level: number });
    expect(lines.map((line) => line.msg)).toEqual(['shown']);
    expect(lines[0]?.level).toBe(40);
  });
});
