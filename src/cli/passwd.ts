/**
 * `pi-edge-gateway passwd`: a mosquitto_passwd work-alike. Same options, messages and exit codes (0 ok, 1 error), and
 * files that mosquitto reads unchanged.
 */
import { readFile } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

import { PasswordFileError } from '../broker/auth/password-file-error.js';
import { writePasswordFile } from '../broker/auth/password-file-writer.js';
import { hashPassword, isEncodedHash } from '../broker/auth/password-hash.js';
import type { HashOptions } from '../broker/auth/password-hash.js';
import { deletePasswordEntry, formatPasswordFile, hashPlaintextEntries, readPasswordLines, setPasswordEntry, usernameProblem } from '../broker/auth/password-lines.js';

export interface PasswdIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Prompt without echo. Defaults to `stdin.isTTY`. */
  isTTY?: boolean;
}

type Action = 'update' | 'create' | 'delete' | 'upgrade';

interface Command {
  action: Action;
  batch: boolean;
  file: string;
  username: string;
  password: string | undefined;
  hash: HashOptions;
}

const MAX_PASSWORD_LENGTH = 65535;

const USAGE = `pi-edge-gateway passwd manages mosquitto-compatible password files.

Usage: pi-edge-gateway passwd [-H sha512 | -H sha512-pbkdf2] [-I iterations] [-c | -D] passwordfile username
       pi-edge-gateway passwd [-H sha512 | -H sha512-pbkdf2] [-I iterations] [-c] -b passwordfile username password
       pi-edge-gateway passwd -U passwordfile
 -b : run in batch mode to allow passing passwords on the command line.
 -c : create a new password file. This will overwrite existing files.
 -D : delete the username rather than adding/updating its password.
 -H : specify the hashing algorithm. Defaults to sha512-pbkdf2, which is recommended.
 -I : PBKDF2 iterations for sha512-pbkdf2 (default 10000; mosquitto 2.0 writes 101, reads any count).
 -U : update a plain text password file to use hashed passwords.
`;

class UsageError extends Error {}

/** Thrown when the user interrupts a password prompt (Ctrl-C / Ctrl-D). */
class PromptAborted extends Error {}

function parseArgs(argv: readonly string[]): Command | 'help' {
  const hash: HashOptions = { type: '$7$' };
  let batch = false;
  let create = false;
  let del = false;
  let upgrade = false;
  let idx = 0;
  for (; idx < argv.length; idx++) {
    const arg = argv[idx];
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '-b') batch = true;
    else if (arg === '-c') create = true;
    else if (arg === '-D') del = true;
    else if (arg === '-U') upgrade = true;
    else if (arg === '-H' || arg === '-I') {
      const value = argv[++idx];
      if (value === undefined) throw new UsageError(`${arg} argument given but not enough other arguments.`);
      if (arg === '-H') {
        if (value === 'sha512') hash.type = '$6$';
        else if (value === 'sha512-pbkdf2') hash.type = '$7$';
        else throw new UsageError(`Unknown hash type '${value}'`);
      } else {
        if (!/^[1-9][0-9]{0,9}$/.test(value) || Number(value) > 2 ** 31 - 1) throw new UsageError('Number of iterations must be > 0.');
        hash.iterations = Number(value);
      }
    } else if (arg !== undefined && arg.startsWith('-') && arg !== '-') throw new UsageError(`Unknown option '${arg}'.`);
    else break;
  }

  if (create && del) throw new UsageError('-c and -D cannot be used together.');
  if (create && upgrade) throw new UsageError('-c and -U cannot be used together.');
  if (del && upgrade) throw new UsageError('-D and -U cannot be used together.');
  if (del && batch) throw new UsageError('-b and -D cannot be used together.');

  const rest = argv.slice(idx);
  const action: Action = create ? 'create' : del ? 'delete' : upgrade ? 'upgrade' : 'update';
  const expected = action === 'upgrade' ? 1 : batch ? 3 : 2;
  if (rest.length !== expected) throw new UsageError(`wrong number of arguments.\n\n${USAGE}`);
  const [file = '', username = '', password] = rest;
  return { action, batch, file, username, password, hash };
}

/**
 * Reads lines from stdin. On a terminal the input is raw (no echo) and handled byte by byte: Enter ends a line,
 * Backspace edits, Ctrl-C / Ctrl-D abort.
 */
function lineReader(stdin: PasswdIo['stdin'], tty: boolean): { next(): Promise<string | undefined>; close(): void } {
  const decoder = new StringDecoder('utf8');
  const lines: string[] = [];
  let current = '';
  let ended = false;
  let aborted = false;
  let wake: (() => void) | undefined;

  const onData = (chunk: Buffer | string): void => {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    for (const ch of text) {
      if (ch === '\n' || (tty && ch === '\r')) {
        lines.push(tty ? current : current.replace(/\r$/, ''));
        current = '';
      } else if (tty && (ch === '\u0003' || (ch === '\u0004' && current === ''))) {
        aborted = true;
      } else if (tty && (ch === '\u007f' || ch === '\b')) {
        current = [...current].slice(0, -1).join('');
      } else {
        current += ch;
      }
    }
    wake?.();
  };
  const onEnd = (): void => {
    ended = true;
    wake?.();
  };

  const rawMode = tty && typeof stdin.setRawMode === 'function';
  if (rawMode) stdin.setRawMode?.(true);
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  stdin.on('error', onEnd);
  stdin.resume();

  return {
    async next() {
      for (;;) {
        if (aborted) throw new PromptAborted();
        const line = lines.shift();
        if (line !== undefined) return line;
        if (ended) {
          const last = current;
          current = '';
          return last === '' ? undefined : last.replace(/\r$/, '');
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
    close() {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onEnd);
      stdin.pause();
      if (rawMode) stdin.setRawMode?.(false);
    },
  };
}

/**
 * On a terminal: "Password:" and "Reenter password:" without echo, which must match. Otherwise the first stdin line is
 * the password, and a second line, if present, must repeat it (so both `echo pw |` and `printf 'pw\npw\n' |` work).
 */
async function readNewPassword(io: PasswdIo, err: (msg: string) => void): Promise<string | undefined> {
  const tty = io.isTTY ?? io.stdin.isTTY === true;
  const reader = lineReader(io.stdin, tty);
  try {
    if (tty) io.stdout.write('Password: ');
    const first = await reader.next();
    if (tty) io.stdout.write('\nReenter password: ');
    const second = await reader.next();
    if (tty) io.stdout.write('\n');
    if (first === undefined || first === '') {
      err('Error: Empty password.');
      return undefined;
    }
    if ((tty || second !== undefined) && second !== first) {
      err('Error: Passwords do not match.');
      return undefined;
    }
    if (first.length > MAX_PASSWORD_LENGTH) {
      err('Error: Password must be less than 65536 characters long.');
      return undefined;
    }
    return first;
  } catch (e) {
    if (tty) io.stdout.write('\n');
    if (e instanceof PromptAborted) return undefined;
    throw e;
  } finally {
    reader.close();
  }
}

async function readExisting(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : String(code ?? e);
    throw new PasswordFileError(file, undefined, `Unable to open password file. ${reason}.`, { cause: e });
  }
}

export async function runPasswd(argv: string[], io: PasswdIo): Promise<number> {
  const err = (msg: string): void => {
    io.stderr.write(`${msg}\n`);
  };

  let cmd: Command | 'help';
  try {
    cmd = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`Error: ${e.message}`);
    return 1;
  }
  if (cmd === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }

  if (cmd.action !== 'upgrade') {
    const problem = usernameProblem(cmd.username);
    if (problem !== undefined) {
      err(`Error: ${problem}`);
      return 1;
    }
  }
  if (cmd.password !== undefined && cmd.password.length > MAX_PASSWORD_LENGTH) {
    err('Error: Password must be less than 65536 characters long.');
    return 1;
  }

  try {
    let text: string;
    if (cmd.action === 'create') {
      const password = cmd.password ?? (await readNewPassword(io, err));
      if (password === undefined) return 1;
      text = formatPasswordFile([{ username: cmd.username, secret: await hashPassword(password, cmd.hash) }]);
    } else {
      const existing = await readExisting(cmd.file);
      if (cmd.action === 'delete') {
        const result = deletePasswordEntry(existing, cmd.username, cmd.file);
        if (!result.found) {
          err(`Warning: User ${cmd.username} not found in password file.`);
          return 1;
        }
        text = result.text;
      } else if (cmd.action === 'upgrade') {
        text = (await hashPlaintextEntries(existing, cmd.file, isEncodedHash, (plain) => hashPassword(plain, cmd.hash))).text;
      } else {
        readPasswordLines(existing, cmd.file); // reject a corrupt file before prompting
        const password = cmd.password ?? (await readNewPassword(io, err));
        if (password === undefined) return 1;
        text = setPasswordEntry(existing, cmd.username, await hashPassword(password, cmd.hash), cmd.file);
      }
    }
    const written = await writePasswordFile(cmd.file, text);
    if (written.worldReadable) {
      err(`Warning: File ${written.path} has world readable permissions. Future versions of mosquitto will refuse to load this file.`);
    }
    return 0;
  } catch (e) {
    if (e instanceof PasswordFileError) {
      err(`Error: ${e.message}`);
      return 1;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') {
      err(`Error: Unable to write password file ${cmd.file}: ${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
}
