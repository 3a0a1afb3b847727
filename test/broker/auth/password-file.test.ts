import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  deletePasswordEntry,
  formatPasswordFile,
  hashPassword,
  parsePasswordHash,
  PasswordFile,
  PasswordFileError,
  setPasswordEntry,
  type PasswordFileOptions,
  type PasswordHash,
} from '../../../src/broker/auth/password-file.js';
import { verifyPasswordHash } from '../../../src/broker/auth/password-hash.js';

/** Independent re-implementations of mosquitto's formats, so the tests do not trust the code under test. */
function pbkdf2Line(user: string, password: string, iterations: number, saltLength: number): string {
  const salt = randomBytes(saltLength);
  const hash = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
  return `${user}:$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

function sha512Line(user: string, password: string, saltLength = 12): string {
  const salt = randomBytes(saltLength);
  const hash = createHash('sha512').update(password).update(salt).digest();
  return `${user}:$6$${salt.toString('base64')}$${hash.toString('base64')}`;
}

function expectFileError(fn: () => unknown, line: number | undefined, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(PasswordFileError);
  const e = caught as PasswordFileError;
  expect(e.file).toBe('/etc/pw');
  expect(e.line).toBe(line);
  expect(e.message).toMatch(message);
  if (line !== undefined) expect(e.message).toContain(`/etc/pw:${line}:`);
}

describe('PasswordFile.parse / verify', () => {
  it('verifies $7$ entries of any iteration count and salt length', async () => {
    const text = [
      pbkdf2Line('m20', 'pw-a', 101, 12), // mosquitto 2.0
      pbkdf2Line('m21', 'pw-b', 1000, 64), // mosquitto 2.1
      pbkdf2Line('odd', 'pw-c', 7, 5),
    ].join('\n');
    const file = PasswordFile.parse(text, '/etc/pw');
    expect(file.users()).toEqual(['m20', 'm21', 'odd']);
    expect(await file.verify('m20', 'pw-a')).toBe(true);
    expect(await file.verify('m21', Buffer.from('pw-b'))).toBe(true);
    expect(await file.verify('odd', 'pw-c')).toBe(true);
    expect(await file.verify('m20', 'pw-b')).toBe(false);
    expect(await file.verify('m21', 'pw-B')).toBe(false);
    expect(await file.verify('odd', '')).toBe(false);
  });

  it('verifies $6$ entries as sha512(password + salt), not salt + password', async () => {
    const salt = randomBytes(12);
    const saltFirst = createHash('sha512').update(salt).update('secret').digest();
    const text = `${sha512Line('six', 'secret')}\nwrong:$6$${salt.toString('base64')}$${saltFirst.toString('base64')}\n`;
    const file = PasswordFile.parse(text, '/etc/pw');
    expect(await file.verify('six', 'secret')).toBe(true);
    expect(await file.verify('six', 'Secret')).toBe(false);
    expect(await file.verify('wrong', 'secret')).toBe(false);
  });

  it('handles binary and UTF-8 passwords byte for byte', async () => {
    const file = PasswordFile.parse(pbkdf2Line('u', 'pässwörd', 10, 12), '/etc/pw');
    expect(await file.verify('u', Buffer.from('pässwörd', 'utf8'))).toBe(true);
    expect(await file.verify('u', Buffer.from('pässwörd', 'latin1'))).toBe(false);
  });

  it('ignores comments and blank lines, trims blanks, accepts CRLF and a missing final newline', async () => {
    const text = ['# users', '', '   ', '  # indented comment', `${pbkdf2Line('a', 'x', 20, 12)}  `, `  ${sha512Line('b', 'y')}`].join('\r\n');
    const file = PasswordFile.parse(text, '/etc/pw');
    expect(file.users()).toEqual(['a', 'b']);
    expect(file.has('a')).toBe(true);
    expect(file.has('#')).toBe(false);
    expect(await file.verify('a', 'x')).toBe(true);
    expect(await file.verify('b', 'y')).toBe(true);
    expect(await file.verify('a', 'x\r')).toBe(false);
  });

  it('lets the last line win for a duplicated user, as mosquitto does', async () => {
    const file = PasswordFile.parse(`${pbkdf2Line('u', 'one', 10, 12)}\n${pbkdf2Line('u', 'two', 10, 12)}\n`, '/etc/pw');
    expect(file.size).toBe(1);
    expect(await file.verify('u', 'two')).toBe(true);
    expect(await file.verify('u', 'one')).toBe(false);
  });

  it('returns false for unknown users', async () => {
    const file = PasswordFile.parse(pbkdf2Line('u', 'pw', 10, 12), '/etc/pw');
    expect(await file.verify('nobody', 'pw')).toBe(false);
    expect(await PasswordFile.parse('', '/etc/pw').verify('u', 'pw')).toBe(false);
  });

  it('names file and line for malformed lines and unknown hash types', () => {
    const good = pbkdf2Line('ok', 'pw', 10, 12);
    expectFileError(() => PasswordFile.parse(`${good}\n# c\nno-colon-here\n`, '/etc/pw'), 3, /expected "username:password-hash"/);
    expectFileError(() => PasswordFile.parse(`${good}\r\n:$7$1$AAAA$AAAA\r\n`, '/etc/pw'), 2, /empty username/);
    expectFileError(() => PasswordFile.parse(`${good}\nbob:   \n`, '/etc/pw'), 2, /empty password hash for user "bob"/);
    expectFileError(() => PasswordFile.parse(`\n\nbob:$5$abc$def\n`, '/etc/pw'), 3, /unknown hash type \$5\$/);
    expectFileError(() => PasswordFile.parse(`bob:$argon2id$v=19$m=47104,t=1,p=1$c2FsdA$aGFzaA\n`, '/etc/pw'), 1, /\$argon2id\$/);
    expectFileError(() => PasswordFile.parse(`bob:plaintext\n`, '/etc/pw'), 1, /not hashed/);
    expectFileError(() => PasswordFile.parse(`${good}\nbob:$7$0$AAAA$AAAA\n`, '/etc/pw'), 2, /iteration count/);
    expectFileError(() => PasswordFile.parse(`bob:$7$101$!!!$AAAA\n`, '/etc/pw'), 1, /salt is not valid base64/);
    expectFileError(() => PasswordFile.parse(`bob:$7$101$AAAA$AAAA\n`, '/etc/pw'), 1, /hash is 3 bytes, expected 64/);
    expectFileError(() => PasswordFile.parse(`bob:$7$101$AAAA\n`, '/etc/pw'), 1, /\$7\$<iterations>/);
    expectFileError(() => PasswordFile.parse(`bob:$6$AAAA\n`, '/etc/pw'), 1, /\$6\$<salt>\$<hash>/);
  });

  it('never puts the hash or password in an error message', () => {
    const line = pbkdf2Line('bob', 'pw', 10, 12).replace('$7$10$', '$7$x$');
    try {
      PasswordFile.parse(line, '/etc/pw');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain(line.split('$').at(-1));
    }
  });
});

describe('PasswordFile.load', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pw-load-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a file from disk', async () => {
    const path = join(dir, 'passwd');
    await writeFile(path, `${pbkdf2Line('u', 'pw', 10, 12)}\n`);
    const file = await PasswordFile.load(path);
    expect(file.path).toBe(path);
    expect(await file.verify('u', 'pw')).toBe(true);
  });

  it('reports a missing file as PasswordFileError without a line', async () => {
    const path = join(dir, 'missing');
    await expect(PasswordFile.load(path)).rejects.toMatchObject({ name: 'PasswordFileError', file: path, line: undefined });
    await expect(PasswordFile.load(path)).rejects.toThrow(/ENOENT/);
  });

  it('reports parse errors with the path it was loaded from', async () => {
    const path = join(dir, 'passwd');
    await writeFile(path, 'a:b:c\n');
    await expect(PasswordFile.load(path)).rejects.toMatchObject({ file: path, line: 1 });
  });
});

describe('verification cost', () => {
  // ~0.1-0.5 s per PBKDF2 on CI hardware: long enough for the event loop to tick meanwhile.
  const SLOW = 200_000;

  /** The real verifier, counting calls and recording the hashes it was given. */
  function countingVerifier(): { verifyHash: PasswordFileOptions['verifyHash']; hashes: PasswordHash[] } {
    const hashes: PasswordHash[] = [];
    return {
      hashes,
      verifyHash: (hash, password) => {
        hashes.push(hash);
        return verifyPasswordHash(hash, password);
      },
    };
  }

  it('caches successful verifications but never failures', async () => {
    const counting = countingVerifier();
    const file = PasswordFile.parse(pbkdf2Line('u', 'pw', 1000, 12), '/etc/pw', { verifyHash: counting.verifyHash });
    expect(await file.verify('u', 'pw')).toBe(true);
    expect(await file.verify('u', 'pw')).toBe(true);
    expect(counting.hashes).toHaveLength(1);
    expect(await file.verify('u', 'wrong')).toBe(false);
    expect(await file.verify('u', 'wrong')).toBe(false);
    expect(counting.hashes).toHaveLength(3);
  });

  it('does not block the event loop while hashing', async () => {
    const file = PasswordFile.parse(pbkdf2Line('u', 'pw', SLOW, 12), '/etc/pw', { cacheSize: 0 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await file.verify('u', 'pw');
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
  });

  it('hashes for unknown users with the parameters of the known ones, so they cost the same', async () => {
    const counting = countingVerifier();
    const file = PasswordFile.parse(pbkdf2Line('u', 'pw', 1000, 12), '/etc/pw', { cacheSize: 0, verifyHash: counting.verifyHash });
    expect(await file.verify('ghost', 'pw')).toBe(false);
    expect(await file.verify('u', 'nope')).toBe(false);
    const [decoy, known] = counting.hashes;
    expect(decoy).toMatchObject({ type: known!.type, iterations: 1000 });
    expect(decoy!.salt.length).toBe(known!.salt.length);
    expect(decoy!.hash.length).toBe(known!.hash.length);
    expect(decoy!.salt.equals(known!.salt)).toBe(false);
  });
});

describe('hashPassword', () => {
  it('defaults to $7$, 10000 iterations, 12-byte salt', async () => {
    const encoded = await hashPassword('pw');
    expect(encoded).toMatch(/^\$7\$10000\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
    const h = parsePasswordHash(encoded);
    expect(h.salt.length).toBe(12);
    const salt = h.salt;
    expect(h.hash.equals(pbkdf2Sync('pw', salt, 10000, 64, 'sha512'))).toBe(true);
  });

  it('honours type, iterations and salt length, and salts every hash', async () => {
    const a = await hashPassword('pw', { type: '$7$', iterations: 5, saltLength: 64 });
    const b = await hashPassword('pw', { type: '$7$', iterations: 5, saltLength: 64 });
    expect(a).not.toBe(b);
    const h = parsePasswordHash(a);
    expect(h).toMatchObject({ type: '$7$', iterations: 5 });
    expect(h.salt.length).toBe(64);

    const six = parsePasswordHash(await hashPassword('pw', { type: '$6$' }));
    expect(six.type).toBe('$6$');
    expect(six.hash.equals(createHash('sha512').update('pw').update(six.salt).digest())).toBe(true);

    await expect(hashPassword('pw', { iterations: 0 })).rejects.toThrow(RangeError);
    await expect(hashPassword('pw', { saltLength: 0 })).rejects.toThrow(RangeError);
  });
});

describe('editing helpers', () => {
  const a = pbkdf2Line('alice', 'a', 10, 12);
  const b = pbkdf2Line('bob', 'b', 10, 12);

  it('formatPasswordFile writes user:hash lines and rejects bad usernames', () => {
    expect(formatPasswordFile([{ username: 'u', secret: '$7$1$x$y' }, { username: 'v', secret: '$6$x$y' }])).toBe('u:$7$1$x$y\nv:$6$x$y\n');
    expect(() => formatPasswordFile([{ username: 'a:b', secret: '$6$x$y' }])).toThrow(/':'/);
    expect(() => formatPasswordFile([{ username: 'a\nb', secret: '$6$x$y' }])).toThrow(/control/);
    expect(() => formatPasswordFile([{ username: '', secret: '$6$x$y' }])).toThrow(/empty/);
    expect(() => formatPasswordFile([{ username: ' a', secret: '$6$x$y' }])).toThrow(/whitespace/);
  });

  it('setPasswordEntry replaces in place, appends new users and keeps every other line', () => {
    const text = `# header\n${a}\n\n${b}\n`;
    expect(setPasswordEntry(text, 'alice', '$6$new$hash', '/etc/pw')).toBe(`# header\nalice:$6$new$hash\n\n${b}\n`);
    expect(setPasswordEntry(text, 'carol', '$6$c$c', '/etc/pw')).toBe(`${text}carol:$6$c$c\n`);
    expect(setPasswordEntry('', 'carol', '$6$c$c', '/etc/pw')).toBe('carol:$6$c$c\n');
    expect(setPasswordEntry(`${a}\n${b}\n${a}\n`, 'alice', '$6$n$n', '/etc/pw')).toBe(`alice:$6$n$n\n${b}\n`);
  });

  it('keeps CRLF files CRLF and adds a newline to an unterminated last line', () => {
    expect(setPasswordEntry(`# c\r\n${a}\r\n`, 'bob', '$6$x$y', '/etc/pw')).toBe(`# c\r\n${a}\r\nbob:$6$x$y\r\n`);
    expect(setPasswordEntry(a, 'bob', '$6$x$y', '/etc/pw')).toBe(`${a}\nbob:$6$x$y\n`);
  });

  it('deletePasswordEntry removes the user only', () => {
    expect(deletePasswordEntry(`# c\n${a}\n${b}\n`, 'alice', '/etc/pw')).toEqual({ text: `# c\n${b}\n`, found: true });
    expect(deletePasswordEntry(`${a}\n`, 'carol', '/etc/pw')).toEqual({ text: `${a}\n`, found: false });
  });

  it('refuses to edit a corrupt file, naming the line', () => {
    expectFileError(() => setPasswordEntry(`${a}\ngarbage\n`, 'bob', '$6$x$y', '/etc/pw'), 2, /expected/);
  });
});
