/**
 * The line structure of a mosquitto password file, without decoding hashes: `user:secret` entries, plus comment and
 * blank lines that are kept verbatim. Editing works at this level so that entries this project cannot verify (e.g.
 * mosquitto 2.1's `$argon2id$`) and comments survive an update.
 */
import { PasswordFileError } from './password-file-error.js';

export type PasswordLine =
  | { readonly kind: 'entry'; readonly line: number; readonly raw: string; readonly username: string; readonly secret: string }
  | { readonly kind: 'other'; readonly line: number; readonly raw: string };

export interface PasswordEntry {
  username: string;
  /** An encoded hash (`$7$...`), or plaintext only in files awaiting `passwd -U`. */
  secret: string;
}

/** Why `username` cannot be stored in a password file, or undefined when it can. */
export function usernameProblem(username: string): string | undefined {
  if (username.length === 0) return 'Username must not be empty.';
  if (username.length > 65535) return 'Username must be less than 65536 characters long.';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(username)) return 'Username must not contain control characters.';
  if (username.includes(':')) return "Username must not contain the ':' character.";
  // Mosquitto trims blanks around the username when reading, so such a user could never log in as written.
  if (username.trim() !== username) return 'Username must not start or end with whitespace.';
  return undefined;
}

/** Splits a password file into lines; a non-comment line without `user:secret` is an error naming the line. */
export function readPasswordLines(text: string, file: string): PasswordLine[] {
  const rawLines = text.split('\n');
  if (rawLines.at(-1) === '') rawLines.pop();
  return rawLines.map((raw, index): PasswordLine => {
    const line = index + 1;
    const content = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const trimmed = content.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return { kind: 'other', line, raw };
    const colon = content.indexOf(':');
    if (colon < 0) throw new PasswordFileError(file, line, 'expected "username:password-hash"');
    const username = content.slice(0, colon).trim();
    const secret = content.slice(colon + 1).trim();
    if (username === '') throw new PasswordFileError(file, line, 'empty username');
    if (secret === '') throw new PasswordFileError(file, line, `empty password hash for user "${username}"`);
    return { kind: 'entry', line, raw, username, secret };
  });
}

function eolOf(lines: readonly PasswordLine[]): string {
  return lines[0]?.raw.endsWith('\r') ? '\r\n' : '\n';
}

function joinLines(raws: readonly string[], eol: string): string {
  return raws.map((raw) => (raw.endsWith('\r') ? `${raw}\n` : `${raw}${eol}`)).join('');
}

/** `user:secret` lines, one per entry, each ending in `\n`. */
export function formatPasswordFile(entries: Iterable<PasswordEntry>): string {
  let out = '';
  for (const { username, secret } of entries) {
    const problem = usernameProblem(username);
    if (problem !== undefined) throw new RangeError(problem);
    if (secret === '' || /[\r\n]/.test(secret)) throw new RangeError(`invalid password hash for user "${username}"`);
    out += `${username}:${secret}\n`;
  }
  return out;
}

/**
 * Sets `username`'s secret: replaces its first line in place (dropping any later duplicates, which mosquitto would
 * otherwise let override it) or appends a line. Every other line is kept byte for byte.
 */
export function setPasswordEntry(text: string, username: string, secret: string, file: string): string {
  const lines = readPasswordLines(text, file);
  const eol = eolOf(lines);
  const fresh = formatPasswordFile([{ username, secret }]).slice(0, -1);
  const out: string[] = [];
  let found = false;
  for (const l of lines) {
    if (l.kind === 'entry' && l.username === username) {
      if (!found) out.push(fresh);
      found = true;
    } else {
      out.push(l.raw);
    }
  }
  if (!found) out.push(fresh);
  return joinLines(out, eol);
}

/** Removes every line for `username`; `found` is false when there was none. */
export function deletePasswordEntry(text: string, username: string, file: string): { text: string; found: boolean } {
  const lines = readPasswordLines(text, file);
  const kept = lines.filter((l) => !(l.kind === 'entry' && l.username === username));
  return { text: joinLines(kept.map((l) => l.raw), eolOf(lines)), found: kept.length !== lines.length };
}

/**
 * Rewrites each entry whose secret is not already hashed with `hash(secret)`, for converting a plaintext file.
 * Returns the new text and how many entries were converted.
 */
export async function hashPlaintextEntries(
  text: string,
  file: string,
  isHashed: (secret: string) => boolean,
  hash: (plaintext: string) => Promise<string>,
): Promise<{ text: string; converted: number }> {
  const lines = readPasswordLines(text, file);
  const out: string[] = [];
  let converted = 0;
  for (const l of lines) {
    if (l.kind === 'entry' && !isHashed(l.secret)) {
      out.push(`${l.username}:${await hash(l.secret)}`);
      converted++;
    } else {
      out.push(l.raw);
    }
  }
  return { text: joinLines(out, eolOf(lines)), converted };
}
