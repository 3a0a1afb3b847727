import { chown, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PasswordFile } from '../../src/broker/auth/password-file.js';
import { runPasswd } from '../../src/cli/passwd.js';
import { makeTempDir } from '../helpers/temp-dir.js';

// `passwd` runs as root; the broker as its service user. A new file must be one the service can read through its
// group, and nobody else.

let tmp: { dir: string; remove: () => Promise<void> };
beforeEach(async () => {
  tmp = await makeTempDir();
});
afterEach(async () => {
  await tmp.remove();
});

const quiet = { stdin: process.stdin, stdout: { write: () => true }, stderr: { write: () => true } } as unknown as Parameters<typeof runPasswd>[1];

describe('a password file created by passwd', () => {
  it('is 0640: group-readable, not world-readable', async () => {
    const file = join(tmp.dir, 'passwd');
    expect(await runPasswd(['-c', '-b', file, 'sensor', 'pw'], quiet)).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    expect(await (await PasswordFile.load(file)).verify('sensor', 'pw')).toBe(true);
  });

  it.skipIf(process.getuid?.() !== 0)('takes the group of its directory (root only: others may not give a file away)', async () => {
    const dir = join(tmp.dir, 'etc-pi-edge-gateway');
    await mkdir(dir, { mode: 0o750 });
    const serviceGroup = 4321;
    await chown(dir, 0, serviceGroup);
    const file = join(dir, 'passwd');
    expect(await runPasswd(['-c', '-b', file, 'sensor', 'pw'], quiet)).toBe(0);
    const stats = await stat(file);
    expect(stats.gid).toBe(serviceGroup);
    expect(stats.uid).toBe(0);
  });
});
