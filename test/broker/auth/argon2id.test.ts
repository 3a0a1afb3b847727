import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

import { parseArgon2idHash } from '../../../src/broker/auth/argon2id-hash.js';
import { Argon2idVerifier, nodeCryptoArgon2id } from '../../../src/broker/auth/argon2id-verifier.js';
import { Argon2idWorkerPool } from '../../../src/broker/auth/argon2id-worker-pool.js';
import { PasswordFile, PasswordFileError } from '../../../src/broker/auth/password-file.js';
import { formatPasswordHash, parsePasswordHash } from '../../../src/broker/auth/password-hash.js';
import { connectClient, loopbackListener, startTestBroker } from '../../helpers/broker.js';
import { hasBinary } from '../../helpers/mosquitto.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const run = promisify(execFile);

/**
 * Made by libargon2 (the reference implementation, which mosquitto 2.1 links) with mosquitto 2.1's own call and
 * parameters: fixtures/argon2id-reference.py 'correct horse battery staple'.
 */
const MOSQUITTO_21_LINE =
  'alice:$argon2id$v=19$m=47104,t=1,p=1$4XnPEFE1VqVDGvZhtj+96KscDm+wYwJICtdxSastBQvvKzF+uRkKm1g/9j3LVybEMom/NHIkGS4NKjFUicZG5g$9KV0S/UZmUAuujCqe7+VDavClq1o5cgqVx+hWXlwkYr2eQRdcp6vPUgEilDY0PKFoQ5sV+7E2MW8DHa2VBgjcA';
/** fixtures/argon2id-reference.py 'pässwörd ✓' 2 65536 4: four lanes, two passes, a UTF-8 password. */
const FOUR_LANES_LINE =
  'bob:$argon2id$v=19$m=65536,t=2,p=4$9dOKQIHEbzYJ80JXm3p+7sE7LhV22bKihWTxbayxT4dEQyWHJJyc9OjSOgKqFksW1RKgPf+YuJRq+jN7CEWV8w$Dv5f1nXRW8U7pl0ar5nCcEFT9Rw6Lbd1YLDNk4oV7Cq5TSWSujjVZZLmaTDg5oOGfDKqrZhwIgBhNYTae+9X2Q';

const reference = path.join(import.meta.dirname, 'fixtures', 'argon2id-reference.py');
const hasLibargon2 = hasBinary('python3') && ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib/arm-linux-gnueabihf', '/usr/lib'].some((d) => existsSync(path.join(d, 'libargon2.so.1')));

const verifiers: Argon2idVerifier[] = [];
afterEach(async () => {
  await Promise.all(verifiers.splice(0).map((v) => v.close()));
});
function verifier(options?: ConstructorParameters<typeof Argon2idVerifier>[0]): Argon2idVerifier {
  const v = new Argon2idVerifier(options);
  verifiers.push(v);
  return v;
}

const secretOf = (line: string) => line.slice(line.indexOf(':') + 1);

describe('$argon2id$ hashes', () => {
  it('parses mosquitto 2.1\'s line and formats it back unchanged', () => {
    const hash = parseArgon2idHash(secretOf(MOSQUITTO_21_LINE));
    expect(hash).toMatchObject({ type: '$argon2id$', memory: 47104, passes: 1, parallelism: 1 });
    expect(hash.salt).toHaveLength(64);
    expect(hash.hash).toHaveLength(64);
    expect(formatPasswordHash(parsePasswordHash(secretOf(MOSQUITTO_21_LINE)))).toBe(secretOf(MOSQUITTO_21_LINE));
  });

  it.each([
    ['$argon2id$v=16$m=4096,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g', /version "v=16" is not supported/],
    ['$argon2i$v=19$m=4096,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g', /unknown hash type \$argon2i\$/],
    ['$argon2id$v=19$m=4096,t=1$c2FsdHNhbHQ$aGFzaGhhc2g', /lack p=/],
    ['$argon2id$v=19$m=4096,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2g', /t=0: expected 1 to/],
    ['$argon2id$v=19$m=4,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g', /m=4: expected 8 to .* at least 8 per lane/],
    ['$argon2id$v=19$m=4718592,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g', /m=4718592: expected 8 to 1048576/],
    ['$argon2id$v=19$m=4096,t=1,p=1,k=x$c2FsdHNhbHQ$aGFzaGhhc2g', /parameter "k=x"/],
    ['$argon2id$v=19$m=4096,t=1,p=1$c2FsdA$aGFzaGhhc2g', /salt is 4 bytes, expected at least 8/],
    ['$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHQ=$aGFzaGhhc2g', /salt is not valid unpadded base64/],
    ['$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHQ', /must be \$argon2id\$v=19/],
  ])('refuses %s', (encoded, message) => {
    expect(() => parsePasswordHash(encoded)).toThrow(message);
  });

  it('a password file names the line of a bad $argon2id$ entry', () => {
    let caught: unknown;
    try {
      PasswordFile.parse(`${MOSQUITTO_21_LINE}\ncarol:$argon2id$v=19$m=4096,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2g\n`, '/etc/mosquitto/passwd');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PasswordFileError);
    expect((caught as Error).message).toMatch(/\/etc\/mosquitto\/passwd:2.*user "carol".*t=0/);
  });

  it('verifies mosquitto 2.1\'s hash and a four-lane one on hash-wasm workers, and refuses wrong passwords', async () => {
    const pool = new Argon2idWorkerPool({ size: 2 });
    const passwords = PasswordFile.parse(`${MOSQUITTO_21_LINE}\n${FOUR_LANES_LINE}\n`, '/etc/mosquitto/passwd', {
      argon2: verifier({ compute: (password, params) => pool.compute(password, params) }),
      cacheSize: 0,
    });
    try {
      expect(await passwords.verify('alice', 'correct horse battery staple')).toBe(true);
      expect(await passwords.verify('alice', 'correct horse battery stapl')).toBe(false);
      expect(await passwords.verify('bob', 'pässwörd ✓')).toBe(true);
      expect(await passwords.verify('bob', 'correct horse battery staple')).toBe(false);
      expect(await passwords.verify('nobody', 'correct horse battery staple')).toBe(false);
    } finally {
      await pool.close();
    }
  });

  it('a password file verifies $argon2id$ lines with no verifier given (the backend this Node has)', async () => {
    const passwords = PasswordFile.parse(`${MOSQUITTO_21_LINE}\n`, '/etc/mosquitto/passwd');
    expect(await passwords.verify('alice', 'correct horse battery staple')).toBe(true);
    expect(await passwords.verify('alice', 'wrong')).toBe(false);
  });

  it('picks node:crypto\'s argon2 where Node has it, hash-wasm workers otherwise', () => {
    expect(verifier().backend).toBe(nodeCryptoArgon2id() ? 'node:crypto' : 'hash-wasm worker');
  });

  it.skipIf(nodeCryptoArgon2id() === undefined)('node:crypto\'s argon2 (Node 24.7+) verifies the same lines', async () => {
    const passwords = PasswordFile.parse(`${MOSQUITTO_21_LINE}\n${FOUR_LANES_LINE}\n`, '/etc/mosquitto/passwd', {
      argon2: verifier({ compute: nodeCryptoArgon2id() }),
      cacheSize: 0,
    });
    expect(await passwords.verify('alice', 'correct horse battery staple')).toBe(true);
    expect(await passwords.verify('bob', 'pässwörd ✓')).toBe(true);
    expect(await passwords.verify('bob', 'wrong')).toBe(false);
  });

  it.skipIf(!hasLibargon2)('verifies hashes libargon2 makes now, with mosquitto 2.1\'s call', async () => {
    const password = `pw-${Math.random().toString(36).slice(2)}`;
    const { stdout } = await run('python3', [reference, password], { timeout: 20_000 });
    const passwords = PasswordFile.parse(`dave:${stdout.trim()}\n`, '/etc/mosquitto/passwd', { argon2: verifier(), cacheSize: 0 });
    expect(await passwords.verify('dave', password)).toBe(true);
    expect(await passwords.verify('dave', `${password}x`)).toBe(false);
  });

  it('the event loop keeps running while a hash is verified', async () => {
    // Eight passes over 46 MiB: long enough that a verification on the main thread would stop the timer outright.
    const slow = parseArgon2idHash(secretOf(MOSQUITTO_21_LINE).replace('t=1', 't=8'));
    const v = verifier({ concurrency: 1 });
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 5);
    const started = performance.now();
    try {
      expect(await v.verify(slow, Buffer.from('correct horse battery staple'))).toBe(false);
    } finally {
      clearInterval(timer);
    }
    const took = performance.now() - started;
    const during = [started, ...ticks.filter((t) => t <= started + took), started + took];
    const longestGap = Math.max(...during.slice(1).map((t, i) => t - during[i]!));
    // Blocked, the timer would not fire at all until the end: one gap as long as the verification.
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(longestGap).toBeLessThan(took / 2);
  });

  it('runs at most `concurrency` verifications at once', async () => {
    let running = 0;
    let most = 0;
    const v = verifier({
      concurrency: 2,
      compute: async (_password, params) => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setTimeout(resolve, 20));
        running--;
        return Buffer.alloc(params.hashLength);
      },
    });
    const hash = parseArgon2idHash(secretOf(MOSQUITTO_21_LINE));
    const results = await Promise.all(Array.from({ length: 6 }, () => v.verify(hash, Buffer.from('x'))));
    expect(results).toEqual(Array(6).fill(false));
    expect(most).toBe(2);
  });

  it('an idle worker exits, giving its memory back, and a later verification starts a new one', async () => {
    const pool = new Argon2idWorkerPool({ size: 1, idleMs: 50 });
    const hash = parseArgon2idHash(secretOf(MOSQUITTO_21_LINE));
    const params = { memory: hash.memory, passes: hash.passes, parallelism: hash.parallelism, salt: hash.salt, hashLength: 64 };
    try {
      expect(await pool.compute(Buffer.from('correct horse battery staple'), params)).toEqual(hash.hash);
      expect(pool.workers).toBe(1);
      const deadline = Date.now() + 10_000;
      while (pool.workers > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(pool.workers).toBe(0);
      expect(await pool.compute(Buffer.from('correct horse battery staple'), params)).toEqual(hash.hash);
    } finally {
      await pool.close();
    }
  });

  it('the broker lets a client in with the password of a mosquitto 2.1 line, and refuses a wrong one', async () => {
    const temp = await makeTempDir('pi-edge-argon2-');
    const passwordFile = path.join(temp.dir, 'passwd');
    await writeFile(passwordFile, `${MOSQUITTO_21_LINE}\n`, { mode: 0o600 });
    const broker = await startTestBroker({ passwordFile, listeners: [loopbackListener({ allowAnonymous: false })] });
    try {
      const client = await connectClient(broker.url(), { username: 'alice', password: 'correct horse battery staple' });
      expect(client.connected).toBe(true);
      await client.endAsync(true);
      await expect(connectClient(broker.url(), { username: 'alice', password: 'wrong' })).rejects.toThrow(/Bad username or password|Not authorized/);
    } finally {
      await broker.stop();
      await temp.remove();
    }
  });
});
