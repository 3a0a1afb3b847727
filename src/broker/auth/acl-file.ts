import { readFile } from 'node:fs/promises';
import { isValidFilter } from '../../mqtt/topic-match.js';

/**
 * Parser for Mosquitto's `acl_file` format (mosquitto 2.0 semantics):
 *
 *   # comment
 *   topic [read|write|readwrite|deny] <filter>     before any `user` line: anonymous clients
 *   user <username>                                 following `topic` lines belong to this user
 *   pattern [read|write|readwrite|deny] <filter>    every client, `%u`/`%c` substituted
 *
 * As in mosquitto, the access word is only recognised when something follows it
 * (`topic read` grants readwrite on the topic named `read`), and the filter is the
 * rest of the line, so it may contain spaces. Slightly more lenient than mosquitto:
 * lines are trimmed (so indented `#` comments are comments) and tabs separate words.
 */

export type AclAccess = 'read' | 'write' | 'readwrite' | 'deny';

export interface AclRule {
  readonly access: AclAccess;
  /** Topic filter; for patterns it still contains the `%u` / `%c` placeholders. */
  readonly filter: string;
  /** 1-based line in the source file. */
  readonly line: number;
}

export class AclFileError extends Error {
  override readonly name = 'AclFileError';

  constructor(
    readonly file: string,
    /** 1-based line number; undefined when the file could not be read at all. */
    readonly line: number | undefined,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(line === undefined ? `${file}: ${reason}` : `${file}:${line}: ${reason}`, options);
  }
}

const ACCESS_WORDS: ReadonlySet<string> = new Set<AclAccess>(['read', 'write', 'readwrite', 'deny']);

function isAccess(word: string): word is AclAccess {
  return ACCESS_WORDS.has(word);
}

/** Splits off the first whitespace-delimited word; `rest` is trimmed. */
function firstWord(text: string): { word: string; rest: string } {
  const m = /^(\S+)\s*(.*)$/s.exec(text);
  if (!m) return { word: '', rest: '' };
  return { word: m[1]!, rest: m[2]!.trim() };
}

export class AclFile {
  private constructor(
    readonly path: string,
    /** `topic` rules before the first `user` line. */
    readonly anonymous: readonly AclRule[],
    /** `topic` rules per username, in file order; repeated `user` blocks are merged. */
    readonly users: ReadonlyMap<string, readonly AclRule[]>,
    readonly patterns: readonly AclRule[],
  ) {}

  static async load(path: string): Promise<AclFile> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new AclFileError(path, undefined, `cannot read acl file: ${reason}`, { cause: err });
    }
    return AclFile.parse(text, path);
  }

  static parse(text: string, path = '<acl_file>'): AclFile {
    const anonymous: AclRule[] = [];
    const users = new Map<string, AclRule[]>();
    const patterns: AclRule[] = [];
    let current = anonymous;

    const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      const line = lines[i]!.trim();
      if (line === '' || line.startsWith('#')) continue;

      const fail = (reason: string): never => {
        throw new AclFileError(path, lineNo, reason);
      };
      const { word: keyword, rest } = firstWord(line);

      if (keyword === 'user') {
        if (rest === '') fail('missing username after "user"');
        let rules = users.get(rest);
        if (!rules) {
          rules = [];
          users.set(rest, rules);
        }
        current = rules;
        continue;
      }

      if (keyword === 'topic' || keyword === 'pattern') {
        if (rest === '') fail(`missing topic after "${keyword}"`);
        const split = firstWord(rest);
        let access: AclAccess = 'readwrite';
        let filter = rest;
        if (split.rest !== '') {
          if (!isAccess(split.word)) {
            fail(`invalid access type "${split.word}" (expected read, write, readwrite or deny)`);
          }
          access = split.word as AclAccess;
          filter = split.rest;
        }
        if (!isValidFilter(filter)) {
          fail(`invalid topic filter "${filter}" ("+" and "#" must occupy a whole level, "#" only last)`);
        }
        (keyword === 'topic' ? current : patterns).push({ access, filter, line: lineNo });
        continue;
      }

      fail(`unknown directive "${keyword}" (expected topic, user or pattern)`);
    }

    return new AclFile(path, anonymous, users, patterns);
  }
}
