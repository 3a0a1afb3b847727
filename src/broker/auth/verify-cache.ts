/**
 * Remembers recent successful logins so a reconnecting client does not pay PBKDF2 again. Keys are
 * HMAC-SHA256(per-instance random key, length-prefixed username + password): no plaintext is stored, and unlike a bare SHA-256 a
 * memory dump of the cache cannot be attacked with precomputed tables or across processes.
 */
import { createHmac, randomBytes } from 'node:crypto';

export class VerifyCache {
  readonly #key = randomBytes(32);
  readonly #capacity: number;
  // Map iteration order is insertion order, so the first key is the least recently used.
  readonly #entries = new Map<string, true>();

  constructor(capacity: number) {
    this.#capacity = Math.max(0, Math.floor(capacity));
  }

  keyFor(username: string, password: Buffer): string {
    const user = Buffer.from(username, 'utf8');
    return createHmac('sha256', this.#key).update(`${user.length}:`).update(user).update(password).digest('base64');
  }

  has(key: string): boolean {
    if (!this.#entries.delete(key)) return false;
    this.#entries.set(key, true);
    return true;
  }

  add(key: string): void {
    if (this.#capacity === 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, true);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
