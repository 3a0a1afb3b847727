/**
 * Mosquitto 2.1's `$argon2id$` password hashes: the PHC string libargon2's `argon2id_hash_encoded` writes,
 * `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>`, salt and hash in base64 without padding. Mosquitto
 * 2.1 writes m=47104, t=1, p=1 with a 64-byte salt and a 64-byte hash, and verifies whatever parameters a line states.
 */
import { PasswordHashFormatError } from './password-hash-error.js';

export interface Argon2idHash {
  readonly type: '$argon2id$';
  /** Memory in KiB. */
  readonly memory: number;
  readonly passes: number;
  readonly parallelism: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** Argon2 version 1.3 (0x13), the only one libargon2 has written since 2016 and the only one hash-wasm computes. */
const VERSION = 19;
/**
 * The most memory a line may ask for. Every verification allocates it, and a Pi Zero 2 has 512 MiB: a typo such as
 * m=4718592 must be refused when the file is loaded, not found out when the broker runs out of memory.
 */
export const MAX_ARGON2_MEMORY_KIB = 1024 * 1024;
const MAX_PASSES = 1024;
/** RFC 9106's bounds on the tag and salt, and a ceiling on lanes no password file has reason to exceed. */
const MIN_SALT = 8;
const MIN_HASH = 4;
const MAX_PARALLELISM = 255;

const UNPADDED_BASE64 = /^[A-Za-z0-9+/]+$/;

function decode(text: string, what: string): Buffer {
  if (!UNPADDED_BASE64.test(text) || text.length % 4 === 1) throw new PasswordHashFormatError(`$argon2id$ ${what} is not valid unpadded base64`);
  return Buffer.from(text, 'base64');
}

function integer(params: Map<string, string>, key: string, min: number, max: number, what: string): number {
  const text = params.get(key);
  if (text === undefined) throw new PasswordHashFormatError(`$argon2id$ parameters lack ${key}= (${what})`);
  if (!/^[0-9]{1,10}$/.test(text)) throw new PasswordHashFormatError(`$argon2id$ ${key}=${text}: expected a whole number`);
  const value = Number(text);
  if (value < min || value > max) throw new PasswordHashFormatError(`$argon2id$ ${key}=${value}: expected ${min} to ${max} (${what})`);
  return value;
}

export function parseArgon2idHash(encoded: string): Argon2idHash {
  // ['', 'argon2id', 'v=19', 'm=..,t=..,p=..', salt, hash]
  const fields = encoded.split('$');
  if (fields.length !== 6 || fields[1] !== 'argon2id') {
    throw new PasswordHashFormatError('$argon2id$ hash must be $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>');
  }
  const [, , versionText, paramText, saltText, hashText] = fields as [string, string, string, string, string, string];
  if (versionText !== `v=${VERSION}`) {
    throw new PasswordHashFormatError(`$argon2id$ version "${versionText}" is not supported, expected v=${VERSION}`);
  }
  const params = new Map<string, string>();
  for (const pair of paramText.split(',')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (!['m', 't', 'p'].includes(key) || params.has(key)) throw new PasswordHashFormatError(`$argon2id$ parameter "${pair}" is not m=, t= or p=`);
    params.set(key, pair.slice(eq + 1));
  }
  const parallelism = integer(params, 'p', 1, MAX_PARALLELISM, 'lanes');
  const memory = integer(params, 'm', 8 * parallelism, MAX_ARGON2_MEMORY_KIB, 'KiB of memory, at least 8 per lane');
  const passes = integer(params, 't', 1, MAX_PASSES, 'passes');
  const salt = decode(saltText, 'salt');
  const hash = decode(hashText, 'hash');
  if (salt.length < MIN_SALT) throw new PasswordHashFormatError(`$argon2id$ salt is ${salt.length} bytes, expected at least ${MIN_SALT}`);
  if (hash.length < MIN_HASH) throw new PasswordHashFormatError(`$argon2id$ hash is ${hash.length} bytes, expected at least ${MIN_HASH}`);
  return { type: '$argon2id$', memory, passes, parallelism, salt, hash };
}

export function formatArgon2idHash(h: Argon2idHash): string {
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$argon2id$v=${VERSION}$m=${h.memory},t=${h.passes},p=${h.parallelism}$${b64(h.salt)}$${b64(h.hash)}`;
}
