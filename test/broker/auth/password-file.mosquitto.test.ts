/**
 * Interop with the real mosquitto tools, both directions: files written by mosquitto_passwd verify with PasswordFile,
 * and files written by runPasswd / hashPassword are accepted by a real mosquitto broker. Skipped only when the binaries
 * are missing.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { hashPassword, PasswordFile } from '../../../src/broker/auth/password-file.js';
import { runPasswd } from '../../../src/cli/passwd.js';
import { startMosquitto as startMosquittoBroker, type MosquittoBroker } from '../../helpers/mosquitto-broker.js';

function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/opt/homebrew/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

const MOSQUITTO = findBinary('mosquitto');
const MOSQUITTO_PASSWD = findBinary('mosquitto_passwd');
const MOSQUITTO_PUB = findBinary('mosquitto_pub');
const hasPasswdTool = MOSQUITTO_PASSWD !== undefined;
const hasBroker = MOSQUITTO !== undefined && MOSQUITTO_PUB !== undefined;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 5000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}


function startMosquitto(_dir: string, passwordFile: string): Promise<MosquittoBroker> {
  return startMosquittoBroker(['per_listener_settings false', 'allow_anonymous false', `password_file ${passwordFile}`]);
}

function publish(broker: MosquittoBroker, user: string, password: string): Promise<Run> {
  return run(MOSQUITTO_PUB as string, ['-h', '127.0.0.1', '-p', String(broker.port), '-u', user, '-P', password, '-t', 't', '-m', 'x']);
}

function io(): { stdin: PassThrough; stdout: PassThrough; stderr: PassThrough; err(): string } {
  const stderr = new PassThrough();
  let errText = '';
  stderr.on('data', (d: Buffer) => (errText += d.toString()));
  return { stdin: new PassThrough(), stdout: new PassThrough(), stderr, err: () => errText };
}

let dir: string;
let brokers: MosquittoBroker[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pw-interop-'));
});
afterEach(async () => {
  await Promise.all(brokers.map((b) => b.remove()));
  brokers = [];
  await rm(dir, { recursive: true, force: true });
});

describe('mosquitto_passwd -> PasswordFile', () => {
  it.skipIf(!hasPasswdTool)('verifies a file written by mosquitto_passwd -c -b ($7$)', async () => {
    const path = join(dir, 'passwd');
    expect((await run(MOSQUITTO_PASSWD as string, ['-c', '-b', path, 'user', 'pass'])).code).toBe(0);
    expect((await run(MOSQUITTO_PASSWD as string, ['-b', path, 'other', 'pässwörd'])).code).toBe(0);
    expect(await readFile(path, 'utf8')).toMatch(/^user:\$7\$\d+\$/);

    const file = await PasswordFile.load(path);
    expect(file.users()).toEqual(['user', 'other']);
    expect(await file.verify('user', 'pass')).toBe(true);
    expect(await file.verify('user', 'wrong')).toBe(false);
    expect(await file.verify('other', 'pässwörd')).toBe(true);
    expect(await file.verify('other', 'pass')).toBe(false);
  });

  it.skipIf(!hasPasswdTool)('verifies $6$ (-H sha512) and custom iteration counts (-I)', async () => {
    const path = join(dir, 'passwd');
    expect((await run(MOSQUITTO_PASSWD as string, ['-H', 'sha512', '-c', '-b', path, 'six', 'pw6'])).code).toBe(0);
    // -I is undocumented in 2.0's usage text but supported; skip that half if this build lacks it.
    const withIterations = await run(MOSQUITTO_PASSWD as string, ['-I', '2345', '-b', path, 'seven', 'pw7']);
    const text = await readFile(path, 'utf8');
    expect(text).toMatch(/^six:\$6\$/);

    const file = await PasswordFile.load(path);
    expect(await file.verify('six', 'pw6')).toBe(true);
    expect(await file.verify('six', 'pw7')).toBe(false);
    if (withIterations.code === 0) {
      expect(text).toMatch(/\nseven:\$7\$2345\$/);
      expect(await file.verify('seven', 'pw7')).toBe(true);
      expect(await file.verify('seven', 'pw6')).toBe(false);
    }
  });

  it.skipIf(!hasPasswdTool)('mosquitto_passwd can update a file runPasswd wrote, and we still read it', async () => {
    const path = join(dir, 'passwd');
    expect(await runPasswd(['-c', '-b', path, 'ours', 'a'], io())).toBe(0);
    expect((await run(MOSQUITTO_PASSWD as string, ['-b', path, 'theirs', 'b'])).code).toBe(0);
    const file = await PasswordFile.load(path);
    expect(await file.verify('ours', 'a')).toBe(true);
    expect(await file.verify('theirs', 'b')).toBe(true);
  });
});

describe('runPasswd / hashPassword -> real mosquitto broker', () => {
  it.skipIf(!hasBroker)('accepts a file from runPasswd -c -b and rejects a wrong password', async () => {
    const path = join(dir, 'passwd');
    expect(await runPasswd(['-c', '-b', path, 'user', 'pass'], io())).toBe(0);
    expect(await runPasswd(['-b', path, 'second', 'pässwörd'], io())).toBe(0);
    const broker = await startMosquitto(dir, path);
    brokers.push(broker);

    const ok = await publish(broker, 'user', 'pass');
    expect(ok.code, `${ok.stderr}\n${broker.log()}`).toBe(0);
    expect((await publish(broker, 'second', 'pässwörd')).code).toBe(0);

    const bad = await publish(broker, 'user', 'wrong');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/not authori[sz]ed|Connection Refused/i);
    expect((await publish(broker, 'nobody', 'pass')).code).not.toBe(0);
    expect(broker.log()).not.toMatch(/Unable to decode/);
  });

  it.skipIf(!hasBroker)('accepts $6$ entries and $7$ entries at 101 and 210000 iterations', async () => {
    const path = join(dir, 'passwd');
    expect(await runPasswd(['-c', '-b', '-H', 'sha512', path, 'six', 'pw6'], io())).toBe(0);
    const text = [
      '# mixed file, CRLF line endings',
      `m20:${await hashPassword('pw20', { iterations: 101 })}`,
      `slow:${await hashPassword('pwslow', { iterations: 210_000 })}`,
      '',
    ].join('\r\n');
    await writeFile(path, (await readFile(path, 'utf8')) + text);
    const broker = await startMosquitto(dir, path);
    brokers.push(broker);

    expect((await publish(broker, 'six', 'pw6')).code, broker.log()).toBe(0);
    expect((await publish(broker, 'six', 'pw20')).code).not.toBe(0);
    expect((await publish(broker, 'm20', 'pw20')).code, broker.log()).toBe(0);
    expect((await publish(broker, 'slow', 'pwslow')).code, broker.log()).toBe(0);
    expect((await publish(broker, 'slow', 'pw20')).code).not.toBe(0);

    const ours = await PasswordFile.load(path);
    expect(await ours.verify('six', 'pw6')).toBe(true);
    expect(await ours.verify('m20', 'pw20')).toBe(true);
  });

  it.skipIf(!hasBroker)('the broker no longer accepts a user removed with runPasswd -D', async () => {
    const path = join(dir, 'passwd');
    expect(await runPasswd(['-c', '-b', path, 'gone', 'pw'], io())).toBe(0);
    expect(await runPasswd(['-b', path, 'kept', 'pw'], io())).toBe(0);
    expect(await runPasswd(['-D', path, 'gone'], io())).toBe(0);
    const broker = await startMosquitto(dir, path);
    brokers.push(broker);
    expect((await publish(broker, 'kept', 'pw')).code, broker.log()).toBe(0);
    expect((await publish(broker, 'gone', 'pw')).code).not.toBe(0);
  });
});
