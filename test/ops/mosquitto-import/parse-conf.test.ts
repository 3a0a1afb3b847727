import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MosquittoConfError } from '../../../src/ops/mosquitto-import/errors.js';
import { compareIncludeNames, parseConfText, readMosquittoConf } from '../../../src/ops/mosquitto-import/parse-conf.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function tempDir(): Promise<string> {
  const { dir, remove } = await makeTempDir('pi-edge-import-');
  cleanups.push(remove);
  return dir;
}

describe('parseConfText', () => {
  it('skips comments and blank lines, keeps line numbers, splits key, rest and words', () => {
    const text = '# a comment\n\nlistener 1883  127.0.0.1\r\n  # indented comment\npassword_file /etc/my files/passwd  \ntopic # both 2 a/ b/\n';
    expect(parseConfText(text, '/x.conf')).toEqual([
      { file: '/x.conf', line: 3, key: 'listener', rest: '1883  127.0.0.1', words: ['1883', '127.0.0.1'] },
      { file: '/x.conf', line: 5, key: 'password_file', rest: '/etc/my files/passwd', words: ['/etc/my', 'files/passwd'] },
      { file: '/x.conf', line: 6, key: 'topic', rest: '# both 2 a/ b/', words: ['#', 'both', '2', 'a/', 'b/'] },
    ]);
  });

  it('takes an option with no value as an empty rest', () => {
    expect(parseConfText('persistence\n', '/x.conf')).toEqual([{ file: '/x.conf', line: 1, key: 'persistence', rest: '', words: [] }]);
  });
});

describe('compareIncludeNames', () => {
  it("sorts as mosquitto's man page says: case-insensitively, upper case first on a tie", () => {
    expect(['b.conf', 'A.conf', '01.conf', 'a.conf', 'B.conf', '00.conf'].sort(compareIncludeNames)).toEqual(['00.conf', '01.conf', 'A.conf', 'a.conf', 'B.conf', 'b.conf']);
  });
});

describe('readMosquittoConf', () => {
  it('expands include_dir where it stands, *.conf files only, in mosquitto order', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, 'conf.d'));
    await writeFile(path.join(dir, 'conf.d', 'b.conf'), 'sys_interval 5\n');
    await writeFile(path.join(dir, 'conf.d', 'A.conf'), '# first\nlistener 1884\n');
    await writeFile(path.join(dir, 'conf.d', 'README'), 'not a conf file\n');
    await writeFile(path.join(dir, 'conf.d', 'x.conf.bak'), 'listener 1\n');
    await writeFile(path.join(dir, 'conf.d', 'c.conf'), 'include_dir /nowhere\n');
    await writeFile(path.join(dir, 'main.conf'), 'listener 1883\ninclude_dir conf.d\nallow_anonymous true\n');
    const parsed = await readMosquittoConf(path.join(dir, 'main.conf'));
    expect(parsed.directives.map((d) => `${path.relative(dir, d.file)}:${d.line} ${d.key}`)).toEqual([
      'main.conf:1 listener',
      'conf.d/A.conf:2 listener',
      'conf.d/b.conf:1 sys_interval',
      'main.conf:3 allow_anonymous',
    ]);
    // The relative include_dir is noted, and so is the nested include_dir mosquitto ignores.
    expect(parsed.notes.map((n) => `${path.relative(dir, n.file)}:${n.line} ${n.key}`)).toEqual(['main.conf:2 include_dir', 'conf.d/c.conf:1 include_dir']);
  });

  it('reports an include_dir it cannot open at its line', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'main.conf'), 'listener 1883\n\ninclude_dir /does/not/exist\n');
    const error = await readMosquittoConf(path.join(dir, 'main.conf')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MosquittoConfError);
    expect((error as Error).message).toBe(`${path.join(dir, 'main.conf')}:3: include_dir: cannot open /does/not/exist: no such directory`);
  });

  it('reports a missing main file by name', async () => {
    const dir = await tempDir();
    const error = await readMosquittoConf(path.join(dir, 'nope.conf')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MosquittoConfError);
    expect((error as Error).message).toContain(`cannot read ${path.join(dir, 'nope.conf')}: no such file`);
  });
});
