/**
 * Mosquitto's `password_file`, loaded for verification. Same format and semantics as mosquitto 2.0: `user:hash` lines,
 * `#` comments and blank lines ignored, blanks around fields trimmed, CRLF accepted, and when a user appears twice the
 * last line wins. Unlike mosquitto, which silently skips lines it cannot use, any malformed line or unsupported hash is
 * a `PasswordFileError` naming the line, so a broken file cannot quietly lock users out.
 */
import { readFile } from 'node:fs/promises';
import { createHmac, randomBytes } from 'node:crypto';

import { PasswordFileError } from './password-file-error.js';
import { readPasswordLines } from './password-lines.js';
import { DEFAULT_ITERATIONS, DEFAULT_SALT_LENGTH, HASH_LENGTH, parsePasswordHash, PasswordHashFormatError, verifyPasswordHash } from './password-hash.js';
import type { PasswordHash } from './password-hash.js';
import { VerifyCache } from './verify-cache.js';
import { Argon2idVerifier } from './argon2id-verifier.js';

export { PasswordFileError } from './password-file-error.js';
export { hashPassword, parsePasswordHash } from './password-hash.js';
export type { HashOptions, PasswordHash, PasswordHashType } from './password-hash.js';
export { deletePasswordEntry, formatPasswordFile, setPasswordEntry } from './password-lines.js';
export type { PasswordEntry, PasswordLine } from './password-lines.js';
export type { WriteResult } from './password-file-writer.js';

export interface PasswordFileOptions {
  /** How many recent successful (user, password) pairs skip re-hashing. 0 disables the cache. Default 256. */
  cacheSize?: number;
  /** Checks a password against a stored hash; verifyPasswordHash (PBKDF2 and Argon2id off the event loop) unless given. */
  verifyHash?: (hash: PasswordHash, password: Buffer) => Promise<boolean>;
  /** Verifies `$argon2id$` lines. Default: one of this file's own, created when the file has such a line. */
  argon2?: Argon2idVerifier;
}

export class PasswordFile {
  readonly path: string;
  readonly #hashes: ReadonlyMap<string, PasswordHash>;
  /**
   * Verified against for unknown users so they take as long as known ones: one per user of the file, with its
   * parameters (type, iterations, salt length) and random salt and hash, picked by a keyed hash of the unknown
   * name. Whatever the file mixes, unknown names cost what the file's users cost, in the same proportions, and one
   * name always the same (a name probed twice does not stand out by changing).
   */
  readonly #decoys: readonly PasswordHash[];
  readonly #decoyKey = randomBytes(32);
  readonly #cache: VerifyCache;
  readonly #inflight = new Map<string, Promise<boolean>>();
  readonly #verifyHash: (hash: PasswordHash, password: Buffer) => Promise<boolean>;

  private constructor(path: string, hashes: ReadonlyMap<string, PasswordHash>, options: PasswordFileOptions) {
    this.path = path;
    this.#hashes = hashes;
    this.#decoys = hashes.size === 0 ? [decoyFor(undefined)] : [...hashes.values()].map(decoyFor);
    this.#cache = new VerifyCache(options.cacheSize ?? 256);
    const argon2 = options.argon2 ?? (hasArgon2id(hashes) ? new Argon2idVerifier() : undefined);
    this.#verifyHash = options.verifyHash ?? ((hash, password) => verifyPasswordHash(hash, password, argon2));
  }

  static async load(path: string, options: PasswordFileOptions = {}): Promise<PasswordFile> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new PasswordFileError(path, undefined, `cannot read password file (${code})`, { cause: err });
    }
    return PasswordFile.parse(text, path, options);
  }

  static parse(text: string, path: string, options: PasswordFileOptions = {}): PasswordFile {
    const hashes = new Map<string, PasswordHash>();
    for (const line of readPasswordLines(text, path)) {
      if (line.kind !== 'entry') continue;
      try {
        hashes.set(line.username, parsePasswordHash(line.secret));
      } catch (err) {
        if (!(err instanceof PasswordHashFormatError)) throw err;
        throw new PasswordFileError(path, line.line, `user "${line.username}": ${err.message}`, { cause: err });
      }
    }
    return new PasswordFile(path, hashes, options);
  }

  has(username: string): boolean {
    return this.#hashes.has(username);
  }

  users(): string[] {
    return [...this.#hashes.keys()];
  }

  get size(): number {
    return this.#hashes.size;
  }

  async verify(username: string, password: Buffer | string): Promise<boolean> {
    const pw = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
    const stored = this.#hashes.get(username);
    if (stored === undefined) {
      await this.#verifyHash(this.#decoyFor(username), pw);
      return false;
    }
    const key = this.#cache.keyFor(username, pw);
    if (this.#cache.has(key)) return true;
    // Concurrent CONNECTs with the same credentials (a reconnect storm) share one hash computation.
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#verifyHash(stored, pw).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    const ok = await pending;
    if (ok) this.#cache.add(key);
    return ok;
  }

  #decoyFor(username: string): PasswordHash {
    const pick = createHmac('sha256', this.#decoyKey).update(username, 'utf8').digest().readUInt32BE(0);
    return this.#decoys[pick % this.#decoys.length]!;
  }
}

function hasArgon2id(hashes: ReadonlyMap<string, PasswordHash>): boolean {
  for (const hash of hashes.values()) if (hash.type === '$argon2id$') return true;
  return false;
}

function decoyFor(model: PasswordHash | undefined): PasswordHash {
  if (model === undefined) return { type: '$7$', iterations: DEFAULT_ITERATIONS, salt: randomBytes(DEFAULT_SALT_LENGTH), hash: randomBytes(HASH_LENGTH) };
  return { ...model, salt: randomBytes(model.salt.length), hash: randomBytes(model.hash.length) };
}
