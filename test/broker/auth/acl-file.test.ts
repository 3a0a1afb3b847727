import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AclFile, AclFileError } from '../../../src/broker/auth/acl-file.js';

function parseError(text: string): AclFileError {
  try {
    AclFile.parse(text, '/etc/mosquitto/acl');
  } catch (err) {
    expect(err).toBeInstanceOf(AclFileError);
    return err as AclFileError;
  }
  throw new Error('expected AclFile.parse to throw');
}

describe('AclFile.parse', () => {
  it('puts topic lines before the first user line in the anonymous section', () => {
    const acl = AclFile.parse(
      ['# comment', '', 'topic read public/#', 'topic write anon/in', 'user alice', 'topic alice/#'].join('\n'),
    );
    expect(acl.anonymous).toEqual([
      { access: 'read', filter: 'public/#', line: 3 },
      { access: 'write', filter: 'anon/in', line: 4 },
    ]);
    expect([...acl.users.keys()]).toEqual(['alice']);
    expect(acl.users.get('alice')).toEqual([{ access: 'readwrite', filter: 'alice/#', line: 6 }]);
    expect(acl.patterns).toEqual([]);
  });

  it('parses user blocks and merges repeated blocks for the same user', () => {
    const acl = AclFile.parse(
      ['user a', 'topic read x', 'user b', 'topic deny y', 'user a', 'topic readwrite z'].join('\n'),
    );
    expect(acl.users.get('a')?.map((r) => [r.access, r.filter])).toEqual([
      ['read', 'x'],
      ['readwrite', 'z'],
    ]);
    expect(acl.users.get('b')?.map((r) => [r.access, r.filter])).toEqual([['deny', 'y']]);
    expect(acl.anonymous).toEqual([]);
  });

  it('keeps a user with no rules as a known user', () => {
    const acl = AclFile.parse('user lonely\n');
    expect(acl.users.get('lonely')).toEqual([]);
  });

  it('collects patterns globally, wherever they appear', () => {
    const acl = AclFile.parse(
      ['pattern read sensors/%u/#', 'user bob', 'topic read bob/#', 'pattern deny devices/%c/secret'].join('\n'),
    );
    expect(acl.patterns).toEqual([
      { access: 'read', filter: 'sensors/%u/#', line: 1 },
      { access: 'deny', filter: 'devices/%c/secret', line: 4 },
    ]);
    expect(acl.users.get('bob')).toHaveLength(1);
  });

  it('takes the rest of the line as the filter, so it may contain spaces', () => {
    const acl = AclFile.parse('topic read   living room/lamp one  \nuser john smith\ntopic write a b\n');
    expect(acl.anonymous).toEqual([{ access: 'read', filter: 'living room/lamp one', line: 1 }]);
    expect(acl.users.get('john smith')).toEqual([{ access: 'write', filter: 'a b', line: 3 }]);
  });

  it('defaults to readwrite and, like mosquitto, treats a lone access word as the topic', () => {
    const acl = AclFile.parse('topic foo/bar\ntopic read\n');
    expect(acl.anonymous).toEqual([
      { access: 'readwrite', filter: 'foo/bar', line: 1 },
      { access: 'readwrite', filter: 'read', line: 2 },
    ]);
  });

  it('handles CRLF, tabs, surrounding whitespace, indented comments and a BOM', () => {
    const acl = AclFile.parse('\uFEFF# header\r\n\t topic\tread\tx/y \r\n   # indented comment\r\n\r\nuser\tu1\r\ntopic deny z\r\n');
    expect(acl.anonymous).toEqual([{ access: 'read', filter: 'x/y', line: 2 }]);
    expect(acl.users.get('u1')).toEqual([{ access: 'deny', filter: 'z', line: 6 }]);
  });

  it('parses an empty file', () => {
    const acl = AclFile.parse('');
    expect(acl.anonymous).toEqual([]);
    expect(acl.users.size).toBe(0);
    expect(acl.patterns).toEqual([]);
  });

  describe('errors name the file and line', () => {
    it('unknown directive', () => {
      const err = parseError('topic read a\n\n  frobnicate x\n');
      expect(err.file).toBe('/etc/mosquitto/acl');
      expect(err.line).toBe(3);
      expect(err.message).toBe('/etc/mosquitto/acl:3: unknown directive "frobnicate" (expected topic, user or pattern)');
    });

    it('keywords are case-sensitive, as in mosquitto', () => {
      expect(parseError('Topic read a').line).toBe(1);
    });

    it('invalid access type', () => {
      const err = parseError('user a\ntopic readonly a/b\n');
      expect(err.line).toBe(2);
      expect(err.reason).toMatch(/invalid access type "readonly"/);
    });

    it('missing topic / username', () => {
      expect(parseError('topic').reason).toMatch(/missing topic/);
      expect(parseError('pattern   ').reason).toMatch(/missing topic/);
      expect(parseError('\n\nuser   \n').line).toBe(3);
    });

    it.each(['a/#/b', 'a#', 'home/+x', 'x/#/#'])('invalid filter %j', (filter) => {
      const err = parseError(`# c\ntopic read ${filter}\n`);
      expect(err.line).toBe(2);
      expect(err.reason).toMatch(/invalid topic filter/);
    });

    it('invalid pattern filter', () => {
      expect(parseError('pattern write %u/#/x').line).toBe(1);
    });

    it('counts CR-only and CRLF line breaks', () => {
      expect(parseError('topic a\rtopic b\r\nbad').line).toBe(3);
    });
  });
});

describe('AclFile.load', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reads and parses a file, reporting the path in errors', async () => {
    dir = await mkdtemp(join(tmpdir(), 'acl-'));
    const good = join(dir, 'good.acl');
    await writeFile(good, 'user a\ntopic read a/#\n');
    const acl = await AclFile.load(good);
    expect(acl.path).toBe(good);
    expect(acl.users.get('a')).toHaveLength(1);

    const bad = join(dir, 'bad.acl');
    await writeFile(bad, 'user a\ntopic read a/#/b\n');
    await expect(AclFile.load(bad)).rejects.toMatchObject({ name: 'AclFileError', file: bad, line: 2 });
  });

  it('wraps a missing file in AclFileError', async () => {
    const err = await AclFile.load('/nonexistent/acl').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AclFileError);
    expect((err as AclFileError).line).toBeUndefined();
    expect((err as AclFileError).message).toMatch(/^\/nonexistent\/acl: cannot read acl file/);
  });
});
