/**
 * Mosquitto's password hash formats, encoded as they appear after `user:` in a password file.
 *
 * - `$7$<iterations>$<base64 salt>$<base64 hash>`: PBKDF2-HMAC-SHA512, 64-byte derived key.
 * - `$6$<base64 salt>$<base64 hash>`: one SHA-512 over the password bytes followed by the salt bytes (mosquitto 1.x).
 *
 * - `$argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>`: mosquitto 2.1's default when built with libargon2
 *   (argon2id-hash.ts); verified by an Argon2idVerifier, off the event loop.
 */
import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

import { formatArgon2idHash, parseArgon2idHash, type Argon2idHash } from './argon2id-hash.js';
import type { Argon2idVerifier } from './argon2id-verifier.js';
import { PasswordHashFormatError } from './password-hash-error.js';

export { PasswordHashFormatError } from './password-hash-error.js';
export type { Argon2idHash } from './argon2id-hash.js';

const pbkdf2Async = promisify(pbkdf2);

/** SHA-512 output; mosquitto rejects stored hashes of any other length. */
export const HASH_LENGTH = 64;

/**
 * Mosquitto 2.0 writes 101 iterations and 2.1 writes 1000; both read any count (Debian's 2.0.11 accepts 210000, tested
 * in password-file.mosquitto.test.ts). 10000 is 100x 2.0's work factor yet costs ~15 ms on a desktop core and roughly
 * 50-150 ms on a Pi 4 / Pi Zero 2. Mosquitto verifies synchronously on its only thread, so a file handed back to it must
 * stay cheap; our broker caches successful verifications, so reconnect storms do not pay it repeatedly.
 */
export const DEFAULT_ITERATIONS = 10_000;

/** Mosquitto 2.0 accepts only 12-byte salts (it drops other entries with "Unable to decode password salt"); 2.1 reads 12 or 64. */
export const DEFAULT_SALT_LENGTH = 12;

export type PasswordHashType = '$6$' | '$7$';

export type PasswordHash =
  | { readonly type: '$7$'; readonly iterations: number; readonly salt: Buffer; readonly hash: Buffer }
  | { readonly type: '$6$'; readonly salt: Buffer; readonly hash: Buffer }
  | Argon2idHash;

export interface HashOptions {
  type?: PasswordHashType;
  /** PBKDF2 iterations, `$7$` only. */
  iterations?: number;
  saltLength?: number;
}


const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_ITERATIONS = 2 ** 31 - 1;

function decodeBase64(text: string, what: string): Buffer {
  if (!BASE64.test(text) || text.replace(/=+$/, '').length % 4 === 1) {
    throw new PasswordHashFormatError(`${what} is not valid base64`);
  }
  return Buffer.from(text, 'base64');
}

function decodeDigest(text: string): Buffer {
  const hash = decodeBase64(text, 'hash');
  if (hash.length !== HASH_LENGTH) {
    throw new PasswordHashFormatError(`hash is ${hash.length} bytes, expected ${HASH_LENGTH}`);
  }
  return hash;
}

/** Whether `secret` looks like a hash rather than a plaintext password (for `passwd -U`). */
export function isEncodedHash(secret: string): boolean {
  return secret.startsWith('$6$') || secret.startsWith('$7$') || secret.startsWith('$argon2');
}

export function parsePasswordHash(encoded: string): PasswordHash {
  if (encoded.startsWith('$7$')) {
    const parts = encoded.slice(3).split('$');
    if (parts.length !== 3) throw new PasswordHashFormatError('$7$ hash must be $7$<iterations>$<salt>$<hash>');
    const [iterText, saltText, hashText] = parts as [string, string, string];
    if (!/^[1-9][0-9]{0,9}$/.test(iterText) || Number(iterText) > MAX_ITERATIONS) {
      throw new PasswordHashFormatError(`invalid iteration count "${iterText}"`);
    }
    return { type: '$7$', iterations: Number(iterText), salt: decodeBase64(saltText, 'salt'), hash: decodeDigest(hashText) };
  }
  if (encoded.startsWith('$6$')) {
    const parts = encoded.slice(3).split('$');
    if (parts.length !== 2) throw new PasswordHashFormatError('$6$ hash must be $6$<salt>$<hash>');
    const [saltText, hashText] = parts as [string, string];
    return { type: '$6$', salt: decodeBase64(saltText, 'salt'), hash: decodeDigest(hashText) };
  }
  if (encoded.startsWith('$argon2id$')) return parseArgon2idHash(encoded);
  if (!encoded.startsWith('$')) {
    throw new PasswordHashFormatError('password is not hashed (plaintext? convert with "passwd -U")');
  }
  const type = /^\$[^$]*\$?/.exec(encoded)?.[0] ?? '$';
  throw new PasswordHashFormatError(`unknown hash type ${type}`);
}

export function formatPasswordHash(h: PasswordHash): string {
  if (h.type === '$argon2id$') return formatArgon2idHash(h);
  const salt = h.salt.toString('base64');
  const hash = h.hash.toString('base64');
  return h.type === '$7$' ? `$7$${h.iterations}$${salt}$${hash}` : `$6$${salt}$${hash}`;
}

function toBuffer(password: Buffer | string): Buffer {
  return typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
}

type ShaHash = Exclude<PasswordHash, Argon2idHash>;

async function digest(params: ShaHash, password: Buffer): Promise<Buffer> {
  if (params.type === '$7$') return pbkdf2Async(password, params.salt, params.iterations, HASH_LENGTH, 'sha512');
  return createHash('sha512').update(password).update(params.salt).digest();
}

/** Hashes `password` with a fresh random salt and returns the encoded form, e.g. `$7$10000$...$...`. */
export async function hashPassword(password: Buffer | string, options: HashOptions = {}): Promise<string> {
  const type = options.type ?? '$7$';
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  const saltLength = options.saltLength ?? DEFAULT_SALT_LENGTH;
  if (!Number.isInteger(saltLength) || saltLength < 1) throw new RangeError(`invalid salt length ${saltLength}`);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`invalid iteration count ${iterations}`);
  }
  const salt = randomBytes(saltLength);
  const params: ShaHash =
    type === '$7$' ? { type, iterations, salt, hash: Buffer.alloc(0) } : { type, salt, hash: Buffer.alloc(0) };
  return formatPasswordHash({ ...params, hash: await digest(params, toBuffer(password)) });
}

/** `$argon2id$` was asked for without a verifier for it. */
export class Argon2idUnavailableError extends Error {
  constructor() {
    super('an $argon2id$ hash needs an Argon2idVerifier');
    this.name = 'Argon2idUnavailableError';
  }
}

/**
 * Constant-time check of `password` against a decoded hash. PBKDF2 runs on libuv's thread pool, Argon2id on
 * `argon2`'s threads.
 */
export async function verifyPasswordHash(stored: PasswordHash, password: Buffer | string, argon2?: Argon2idVerifier): Promise<boolean> {
  if (stored.type === '$argon2id$') {
    if (!argon2) throw new Argon2idUnavailableError();
    return argon2.verify(stored, toBuffer(password));
  }
  const computed = await digest(stored, toBuffer(password));
  return timingSafeEqual(computed, stored.hash);
}
