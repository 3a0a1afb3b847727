/**
 * Argon2id on worker threads, for Node versions whose node:crypto has no argon2 (before 24.7). hash-wasm computes it
 * in WebAssembly, synchronously on the thread that calls it: on the broker's thread one verification of a mosquitto
 * 2.1 hash (46 MiB, one pass) would stop every client for tens of milliseconds on a desktop and far longer on a Pi,
 * which is why mosquitto 2.1 itself went back to a cheaper default. Here it runs on a worker and the event loop goes on.
 *
 * A WebAssembly memory never shrinks, so a worker keeps the memory of its largest hash until it exits: workers are
 * started when needed and terminated once idle, and there are at most `size` of them.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface Argon2idParams {
  /** KiB. */
  memory: number;
  passes: number;
  parallelism: number;
  salt: Buffer;
  hashLength: number;
}

export class Argon2idWorkerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'Argon2idWorkerError';
  }
}

// An eval'd CommonJS worker: it runs the same under tsx, vitest and the compiled build, where a worker file's path
// would differ. hash-wasm is loaded from the path the main thread resolved.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { argon2id } = require(workerData.hashWasm);
parentPort.on('message', (job) => {
  argon2id({
    password: job.password, salt: job.salt, parallelism: job.parallelism, iterations: job.passes,
    memorySize: job.memory, hashLength: job.hashLength, outputType: 'binary',
  }).then(
    (hash) => parentPort.postMessage({ hash }),
    (error) => parentPort.postMessage({ error: String((error && error.message) || error) }),
  );
});
`;

interface Job {
  password: Buffer;
  params: Argon2idParams;
  resolve(hash: Buffer): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  job?: Job;
  idleTimer?: NodeJS.Timeout;
}

export interface Argon2idWorkerPoolOptions {
  /** Most verifications at once, each with its own worker and memory. */
  size: number;
  /** How long an idle worker is kept for the next verification before it exits and frees its memory. */
  idleMs?: number;
}

export class Argon2idWorkerPool {
  readonly #size: number;
  readonly #idleMs: number;
  readonly #hashWasm = createRequire(import.meta.url).resolve('hash-wasm');
  readonly #slots = new Set<Slot>();
  readonly #queue: Job[] = [];
  #closed = false;

  constructor(options: Argon2idWorkerPoolOptions) {
    this.#size = Math.max(1, Math.floor(options.size));
    this.#idleMs = options.idleMs ?? 2000;
  }

  compute(password: Buffer, params: Argon2idParams): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new Argon2idWorkerError('argon2id worker pool is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ password, params, resolve, reject });
      this.#dispatch();
    });
  }

  /** Terminates every worker; queued and running verifications fail. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new Argon2idWorkerError('argon2id worker pool closed'));
    await Promise.all([...this.#slots].map((slot) => this.#retire(slot, new Argon2idWorkerError('argon2id worker pool closed'))));
  }

  /** Workers alive now (busy or idle). */
  get workers(): number {
    return this.#slots.size;
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = [...this.#slots].find((s) => s.job === undefined) ?? (this.#slots.size < this.#size ? this.#spawn() : undefined);
      if (!slot) return;
      this.#run(slot, this.#queue.shift()!);
    }
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { hashWasm: this.#hashWasm } });
    const slot: Slot = { worker };
    this.#slots.add(slot);
    worker.on('message', (reply: { hash?: Uint8Array; error?: string }) => {
      const job = slot.job;
      slot.job = undefined;
      this.#idle(slot);
      if (!job) return;
      if (reply.hash) job.resolve(Buffer.from(reply.hash.buffer, reply.hash.byteOffset, reply.hash.byteLength));
      else job.reject(new Argon2idWorkerError(`argon2id failed: ${reply.error ?? 'no result'}`));
      this.#dispatch();
    });
    worker.on('error', (error) => void this.#retire(slot, new Argon2idWorkerError(`argon2id worker failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => void this.#retire(slot, new Argon2idWorkerError(`argon2id worker exited with code ${code}`)));
    return slot;
  }

  #run(slot: Slot, job: Job): void {
    clearTimeout(slot.idleTimer);
    slot.job = job;
    slot.worker.ref();
    const { params } = job;
    slot.worker.postMessage({ password: job.password, salt: params.salt, memory: params.memory, passes: params.passes, parallelism: params.parallelism, hashLength: params.hashLength });
  }

  #idle(slot: Slot): void {
    // An idle worker must not keep the process alive, and exits after a while to give its memory back.
    slot.worker.unref();
    clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => void this.#retire(slot), this.#idleMs);
    slot.idleTimer.unref();
  }

  async #retire(slot: Slot, error?: Error): Promise<void> {
    if (!this.#slots.delete(slot)) return;
    clearTimeout(slot.idleTimer);
    const job = slot.job;
    slot.job = undefined;
    if (job) job.reject(error ?? new Argon2idWorkerError('argon2id worker stopped'));
    await slot.worker.terminate();
    if (!this.#closed) this.#dispatch();
  }
}
