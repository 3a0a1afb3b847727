/**
 * Verifies `$argon2id$` password hashes off the event loop: with node:crypto's argon2 where Node has it (24.7+, on
 * libuv's thread pool), otherwise with hash-wasm on worker threads (argon2id-worker-pool.ts). Either way at most
 * `concurrency` run at once, since each takes the memory its hash asks for (46 MiB for mosquitto 2.1's).
 */
import * as crypto from 'node:crypto';
import { availableParallelism } from 'node:os';

import type { Argon2idHash } from './argon2id-hash.js';
import { Argon2idWorkerPool, type Argon2idParams } from './argon2id-worker-pool.js';

export type { Argon2idParams } from './argon2id-worker-pool.js';

/** Computes the raw Argon2id tag of `password` with `params`. */
export type Argon2idCompute = (password: Buffer, params: Argon2idParams) => Promise<Buffer>;

type NodeArgon2 = (
  algorithm: 'argon2id',
  parameters: { message: Buffer; nonce: Buffer; parallelism: number; tagLength: number; memory: number; passes: number },
  callback: (error: Error | null, tag: Buffer) => void,
) => void;

/** node:crypto's asynchronous argon2, when this Node has it (the types of Node 20 do not know it). */
export function nodeCryptoArgon2id(): Argon2idCompute | undefined {
  const argon2 = (crypto as unknown as { argon2?: NodeArgon2 }).argon2;
  if (typeof argon2 !== 'function') return undefined;
  return (password, params) =>
    new Promise((resolve, reject) => {
      argon2(
        'argon2id',
        { message: password, nonce: params.salt, parallelism: params.parallelism, tagLength: params.hashLength, memory: params.memory, passes: params.passes },
        (error, tag) => (error ? reject(error) : resolve(tag)),
      );
    });
}

export interface Argon2idVerifierOptions {
  /** Default: node:crypto's argon2 when present, else a hash-wasm worker pool of `concurrency` workers. */
  compute?: Argon2idCompute;
  /** Verifications at once. Default: the cores, at most 2 (memory on a small Pi). */
  concurrency?: number;
}

export class Argon2idVerifier {
  readonly #compute: Argon2idCompute;
  readonly #pool: Argon2idWorkerPool | undefined;
  readonly #concurrency: number;
  /** Which implementation runs: for the log and the tests. */
  readonly backend: 'node:crypto' | 'hash-wasm worker' | 'injected';
  readonly #waiting: (() => void)[] = [];
  #running = 0;

  constructor(options: Argon2idVerifierOptions = {}) {
    this.#concurrency = Math.max(1, Math.floor(options.concurrency ?? Math.min(2, availableParallelism())));
    const native = options.compute ? undefined : nodeCryptoArgon2id();
    const compute = options.compute ?? native;
    this.backend = options.compute ? 'injected' : native ? 'node:crypto' : 'hash-wasm worker';
    if (compute) {
      this.#compute = compute;
    } else {
      const pool = new Argon2idWorkerPool({ size: this.#concurrency });
      this.#pool = pool;
      this.#compute = (password, params) => pool.compute(password, params);
    }
  }


  async verify(stored: Argon2idHash, password: Buffer): Promise<boolean> {
    await this.#acquire();
    try {
      const tag = await this.#compute(password, {
        memory: stored.memory,
        passes: stored.passes,
        parallelism: stored.parallelism,
        salt: stored.salt,
        hashLength: stored.hash.length,
      });
      return tag.length === stored.hash.length && crypto.timingSafeEqual(tag, stored.hash);
    } finally {
      this.#release();
    }
  }

  /** Stops the workers, if any. Idle workers exit on their own; this is for a prompt shutdown. */
  async close(): Promise<void> {
    await this.#pool?.close();
  }

  async #acquire(): Promise<void> {
    if (this.#running < this.#concurrency) {
      this.#running++;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }
}
