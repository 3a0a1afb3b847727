/**
 * Reads a mosquitto.conf into its directives, in the order mosquitto reads them: the main file, with each `include_dir`
 * expanded where it stands into the directory's `*.conf` files, sorted as mosquitto sorts them. Meaning is given to the
 * directives elsewhere (interpret.ts); this module only knows the file format.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { MosquittoConfError, type SourceLine } from './errors.js';

/** One configuration line: `key` and what follows it. */
export interface Directive extends SourceLine {
  key: string;
  /** Everything after the key, blanks trimmed: the value of options that take a string (paths, passwords). */
  rest: string;
  /** `rest` split on blanks: the value of options that take words (listener, topic, address). */
  words: string[];
}

/** Something about the file itself worth telling the operator (an include_dir mosquitto would not expand...). */
export interface ParseNote extends SourceLine {
  key: string;
  message: string;
}

export interface ParsedConf {
  /** The main file, absolute. */
  file: string;
  directives: Directive[];
  notes: ParseNote[];
}

/**
 * Splits one file's text into directives. Like mosquitto, a `#` in the first column starts a comment and blank lines
 * are skipped; unlike mosquitto, a comment or a key indented with blanks is accepted too (mosquitto would refuse it as
 * an unknown option "#" or take the tab into the key), since an import should not stumble on layout.
 */
export function parseConfText(text: string, file: string): Directive[] {
  const directives: Directive[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const content = raw.replace(/\r$/, '').replace(/^[ \t]+/, '');
    if (content === '' || content.startsWith('#')) return;
    const match = /^(\S+)(?:[ \t]+(.*))?$/.exec(content);
    if (!match) return;
    const rest = (match[2] ?? '').replace(/[ \t]+$/, '');
    directives.push({ file, line: index + 1, key: match[1]!, rest, words: rest === '' ? [] : rest.split(/[ \t]+/) });
  });
  return directives;
}

/**
 * mosquitto's order of include_dir files (conf_includedir.c): letter by letter case-insensitively, and where two letters
 * differ only in case, the upper case one first: 00.conf, 01.conf, A.conf, a.conf, B.conf, b.conf.
 */
export function compareIncludeNames(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    const folded = upper(ca) - upper(cb);
    if (folded !== 0) return folded;
    if (ca !== cb) return ca - cb;
  }
  return a.length - b.length;
}

function upper(code: number): number {
  return code >= 97 && code <= 122 ? code - 32 : code;
}

async function readConfFile(file: string, from: SourceLine | undefined): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    throw new MosquittoConfError(from ?? { file, line: 0 }, from ? 'include_dir' : undefined, `cannot read ${file}: ${reason}`, { cause: error });
  }
}

/**
 * Reads `file` and what it includes. Relative paths in the main file (include_dir here, files elsewhere) are taken from
 * the directory of `file`: mosquitto takes them from its working directory, which the import cannot know.
 */
export async function readMosquittoConf(file: string): Promise<ParsedConf> {
  const main = path.resolve(file);
  const notes: ParseNote[] = [];
  const directives: Directive[] = [];
  for (const directive of parseConfText(await readConfFile(main, undefined), main)) {
    if (directive.key !== 'include_dir') {
      directives.push(directive);
      continue;
    }
    if (directive.rest === '') throw new MosquittoConfError(directive, 'include_dir', 'expected a directory');
    const dir = path.resolve(path.dirname(main), directive.rest);
    if (!path.isAbsolute(directive.rest)) {
      notes.push({ ...directive, message: `relative directory "${directive.rest}" taken as ${dir} (mosquitto takes it from its working directory)` });
    }
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
      throw new MosquittoConfError(directive, 'include_dir', `cannot open ${dir}: ${reason}`, { cause: error });
    }
    const included = names.filter((name) => name.length > 5 && name.endsWith('.conf')).sort(compareIncludeNames);
    for (const name of included) {
      const child = path.join(dir, name);
      for (const inner of parseConfText(await readConfFile(child, directive), child)) {
        // mosquitto processes include_dir only in the main file and skips it silently elsewhere.
        if (inner.key === 'include_dir') notes.push({ ...inner, message: 'ignored, as mosquitto does: include_dir is read only in the main file' });
        else directives.push(inner);
      }
    }
  }
  return { file: main, directives, notes };
}
