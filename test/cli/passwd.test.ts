import { pbkdf2Sync } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { PasswordFile } from '../../src/broker/auth/password-file.js';
import { runPasswd } from '../../src/cli/passwd.js';
import { capturedIo } from '../helpers/captured-io.js';

interface FakeIo {
  stdin: PassThrough;
  stdout: PassThrough;
  stderr: PassThrough;
  isTTY?: boolean;
  out(): string;
  err(): string;
}

function fakeIo(options: { isTTY?: boolean; input?: string } = {}): FakeIo {
  return { ...capturedIo(options.input), isTTY: options.isTTY };
}

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'passwd-cli-'));
  file = join(dir, 'passwd');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function verify(user: string, password: string): Promise<boolean> {
  return (await PasswordFile.load(file)).verify(user, password);
}

describe('runPasswd batch mode', () => {
  it('-c -b creates a 0640 file with one $7$ entry at the default cost', async () => {
    const io = fakeIo();
    expect(await runPasswd(['-c', '-b', file, 'user', 'pass'], io)).toBe(0);
    expect(io.err()).toBe('');
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^user:\$7\$10000\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==\n$/);
    // Readable by the group, so the broker's service user can read it (not by others).
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    expect(await verify('user', 'pass')).toBe(true);
    expect(await verify('user', 'Pass')).toBe(false);
  });

  it('-c overwrites an existing file', async () => {
    await writeFile(file, '# old\nold:$6$x$y\n');
    expect(await runPasswd(['-c', '-b', file, 'new', 'pw'], fakeIo())).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('old');
    expect(text.split('\n')).toHaveLength(2);
    expect(await verify('new', 'pw')).toBe(true);
  });

  it('-b without -c adds and updates users, preserving comments and other lines', async () => {
    expect(await runPasswd(['-c', '-b', file, 'alice', 'a1'], fakeIo())).toBe(0);
    const aliceLine = (await readFile(file, 'utf8')).trim();
    await writeFile(file, `# managed by hand\n${aliceLine}\n\n`);
    expect(await runPasswd(['-b', file, 'bob', 'b1'], fakeIo())).toBe(0);
    expect(await runPasswd(['-b', file, 'bob', 'b2'], fakeIo())).toBe(0);

    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines.slice(0, 3)).toEqual(['# managed by hand', aliceLine, '']);
    expect(lines[3]).toMatch(/^bob:\$7\$/);
    expect(lines).toHaveLength(5);
    expect(await verify('bob', 'b2')).toBe(true);
    expect(await verify('bob', 'b1')).toBe(false);
    expect(await verify('alice', 'a1')).toBe(true);
  });

  it('updating a missing file fails like mosquitto_passwd', async () => {
    const io = fakeIo();
    expect(await runPasswd(['-b', file, 'u', 'p'], io)).toBe(1);
    expect(io.err()).toMatch(/Unable to open password file.*No such file or directory/);
  });

  it('-H sha512 writes $6$, -I sets the iteration count', async () => {
    expect(await runPasswd(['-H', 'sha512', '-c', '-b', file, 'six', 'p6'], fakeIo())).toBe(0);
    expect(await runPasswd(['-I', '777', '-b', file, 'seven', 'p7'], fakeIo())).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^six:\$6\$[A-Za-z0-9+/]{16}\$/);
    expect(text).toMatch(/\nseven:\$7\$777\$/);
    expect(await verify('six', 'p6')).toBe(true);
    expect(await verify('seven', 'p7')).toBe(true);
  });

  it('refuses to touch a corrupt file and names the line', async () => {
    await writeFile(file, '# ok\ngood:$6$x$y\nthis line is broken\n');
    const io = fakeIo();
    expect(await runPasswd(['-b', file, 'u', 'p'], io)).toBe(1);
    expect(io.err()).toContain(`${file}:3:`);
    expect(await readFile(file, 'utf8')).toBe('# ok\ngood:$6$x$y\nthis line is broken\n');
  });
});

describe('runPasswd -D', () => {
  it('deletes one user and keeps the rest', async () => {
    await writeFile(file, '# c\r\nalice:$6$a$a\r\nbob:$6$b$b\r\n');
    expect(await runPasswd(['-D', file, 'alice'], fakeIo())).toBe(0);
    expect(await readFile(file, 'utf8')).toBe('# c\r\nbob:$6$b$b\r\n');
  });

  it('warns and exits 1 for an unknown user, leaving the file alone', async () => {
    await writeFile(file, 'bob:$6$b$b\n');
    const io = fakeIo();
    expect(await runPasswd(['-D', file, 'carol'], io)).toBe(1);
    expect(io.err()).toBe('Warning: User carol not found in password file.\n');
    expect(await readFile(file, 'utf8')).toBe('bob:$6$b$b\n');
  });
});

describe('runPasswd -U', () => {
  it('hashes plaintext entries and leaves hashed ones and comments alone', async () => {
    const hashed = 'kept:$6$AAAAAAAAAAAAAAAA$' + 'A'.repeat(86) + '==';
    await writeFile(file, `# plaintext\nalice:secret\n${hashed}\nbob: with spaces \n`);
    expect(await runPasswd(['-U', file], fakeIo())).toBe(0);
    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines[0]).toBe('# plaintext');
    expect(lines[1]).toMatch(/^alice:\$7\$10000\$/);
    expect(lines[2]).toBe(hashed);
    expect(await verify('alice', 'secret')).toBe(true);
    expect(await verify('bob', 'with spaces')).toBe(true);
  });
});

describe('runPasswd argument checks', () => {
  it.each([
    [['-c', '-b', 'FILE', 'a:b', 'pw'], "Username must not contain the ':' character."],
    [['-b', 'FILE', 'a\tb', 'pw'], 'Username must not contain control characters.'],
    [['-c', '-D', 'FILE', 'u'], '-c and -D cannot be used together.'],
    [['-b', '-D', 'FILE', 'u'], '-b and -D cannot be used together.'],
    [['-c', '-U', 'FILE'], '-c and -U cannot be used together.'],
    [['-H', 'md5', '-b', 'FILE', 'u', 'p'], "Unknown hash type 'md5'"],
    [['-I', '0', '-b', 'FILE', 'u', 'p'], 'Number of iterations must be > 0.'],
    [['-x', 'FILE', 'u'], "Unknown option '-x'."],
    [['-b', 'FILE', 'u'], 'wrong number of arguments.'],
    [[], 'wrong number of arguments.'],
  ])('%j -> error', async (argv, message) => {
    const io = fakeIo();
    expect(await runPasswd(argv.map((a) => (a === 'FILE' ? file : a)), io)).toBe(1);
    expect(io.err()).toContain(`Error: ${message}`);
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });

  it('--help prints usage and exits 0', async () => {
    const io = fakeIo();
    expect(await runPasswd(['--help'], io)).toBe(0);
    expect(io.out()).toMatch(/Usage: pi-edge-gateway passwd/);
  });
});

describe('runPasswd password prompts', () => {
  it('on a TTY prompts twice without echoing the password', async () => {
    const io = fakeIo({ isTTY: true });
    const done = runPasswd(['-c', file, 'user'], io);
    io.stdin.write('s3cr');
    io.stdin.write('et!x\u007f\r');
    io.stdin.write('s3cret!\r');
    expect(await done).toBe(0);
    expect(io.out()).toBe('Password: \nReenter password: \n');
    expect(io.out()).not.toContain('s3cr');
    expect(await verify('user', 's3cret!')).toBe(true);
  });

  it('on a TTY rejects mismatched passwords and writes nothing', async () => {
    const io = fakeIo({ isTTY: true });
    const done = runPasswd(['-c', file, 'user'], io);
    io.stdin.write('one\rtwo\r');
    expect(await done).toBe(1);
    expect(io.err()).toBe('Error: Passwords do not match.\n');
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });

  it('on a TTY Ctrl-C aborts', async () => {
    const io = fakeIo({ isTTY: true });
    const done = runPasswd(['-c', file, 'user'], io);
    io.stdin.write('abc\u0003');
    expect(await done).toBe(1);
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });

  it('without a TTY reads the password from stdin lines', async () => {
    expect(await runPasswd(['-c', file, 'one'], fakeIo({ input: 'only-line\n' }))).toBe(0);
    expect(await verify('one', 'only-line')).toBe(true);
    expect(await runPasswd(['-c', file, 'two'], fakeIo({ input: 'pw\r\npw\r\n' }))).toBe(0);
    expect(await verify('two', 'pw')).toBe(true);

    const mismatch = fakeIo({ input: 'pw\nother\n' });
    expect(await runPasswd(['-c', file, 'three'], mismatch)).toBe(1);
    expect(mismatch.err()).toBe('Error: Passwords do not match.\n');

    const empty = fakeIo({ input: '' });
    expect(await runPasswd(['-c', file, 'four'], empty)).toBe(1);
    expect(empty.err()).toBe('Error: Empty password.\n');
    expect(empty.out()).toBe('');
  });
});

describe('runPasswd file handling', () => {
  it('keeps the mode of an existing file and warns when it is world-readable', async () => {
    await writeFile(file, 'a:$6$a$a\n');
    await chmod(file, 0o640);
    expect(await runPasswd(['-b', file, 'b', 'pw'], fakeIo())).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o640);

    await chmod(file, 0o644);
    const io = fakeIo();
    expect(await runPasswd(['-b', file, 'c', 'pw'], io)).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o644);
    expect(io.err()).toMatch(/world readable/);
  });

  it('writes through a symlink instead of replacing it', async () => {
    const real = join(dir, 'real');
    await writeFile(real, 'a:$6$a$a\n');
    await symlink(real, file);
    expect(await runPasswd(['-b', file, 'b', 'pw'], fakeIo())).toBe(0);
    expect(await readFile(real, 'utf8')).toMatch(/^a:\$6\$a\$a\nb:\$7\$/);
  });

  it('produces hashes an independent PBKDF2 agrees with', async () => {
    expect(await runPasswd(['-c', '-b', '-I', '50', file, 'u', 'pw'], fakeIo())).toBe(0);
    const [, , iterations, salt, hash] = (await readFile(file, 'utf8')).trim().split('$');
    expect(iterations).toBe('50');
    expect(pbkdf2Sync('pw', Buffer.from(salt ?? '', 'base64'), 50, 64, 'sha512').toString('base64')).toBe(hash);
  });
});
