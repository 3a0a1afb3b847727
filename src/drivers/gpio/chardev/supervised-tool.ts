import type { HardwareError } from '../../errors.js';
import type { Logger } from '../../../util/logger.js';
import { ToolProcess } from './tool-process.js';
import type { SpawnFn } from './tool-process.js';

/** What to run; undefined when nothing needs to run (no lines left). */
export interface ToolSpec {
  command: string;
  args: readonly string[];
  /** The v2 --banner line that proves the lines are held; undefined for v1 (readiness by grace period). */
  banner: RegExp | undefined;
}

export interface SupervisedToolOptions {
  spawn: SpawnFn;
  logger: Logger;
  /** For errors and log lines: `gpiochip0 gpiomon` or `gpio27`. */
  device: string;
  graceMs: number;
  timeoutMs: number;
  /** Waits before successive restarts of a tool that died; the last repeats. */
  restartDelaysMs?: readonly number[];
  onLine?: (line: string) => void;
  /** Called before each (re)start, while no process holds the lines (e.g. to read their levels). */
  beforeStart?: () => Promise<void>;
  /** The tool died or could not be restarted (lines no longer held) / runs again; each once per outage. */
  onDown?: (error: HardwareError) => void;
  onUp?: () => void;
}

const DEFAULT_RESTART_DELAYS_MS = [1000, 2000, 5000, 10_000, 30_000];

/**
 * One long-lived libgpiod tool (gpiomon, gpioset) that is restarted when it dies: the death is logged and reported
 * (its lines are then unavailable), restarts back off, and the recovery is logged and reported too. `restart()`
 * replaces the process with one for the current spec, e.g. when a line joins or leaves the request.
 */
export class SupervisedTool {
  private current: ToolProcess | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  /** Why the tool is not holding its lines, from its death until a start succeeds. */
  private down: HardwareError | undefined;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly spec: () => ToolSpec | undefined,
    private readonly options: SupervisedToolOptions,
  ) {}

  get process(): ToolProcess | undefined {
    return this.current;
  }

  /** Stops the running process (if any) and starts one for the current spec; rejects with the tool's error. */
  restart(): Promise<void> {
    const run = this.queue.then(() => this.replace());
    this.queue = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.queue;
    const process = this.current;
    this.current = undefined;
    await process?.stop();
  }

  private async replace(): Promise<void> {
    clearTimeout(this.timer);
    const old = this.current;
    // A failed start of a tool that held lines (or should, after a death) leaves them unheld: it must be retried.
    // A first start that fails is the caller's error only.
    const wasHolding = old !== undefined || this.down !== undefined;
    this.current = undefined;
    await old?.stop();
    const spec = this.closed ? undefined : this.spec();
    if (!spec) {
      // No lines left to hold: nothing is down any more, and nobody to tell.
      this.down = undefined;
      this.failures = 0;
      return;
    }
    let process: ToolProcess | undefined;
    try {
      await this.options.beforeStart?.();
      process = ToolProcess.start(this.options.spawn, spec.command, spec.args, this.options.device, this.options.onLine);
      await process.ready(spec.banner, this.options.graceMs, this.options.timeoutMs);
    } catch (error) {
      await process?.stop();
      if (wasHolding && !this.closed) this.fail(error as HardwareError);
      throw error;
    }
    this.current = process;
    // Whoever restarted it (the timer, or a line joining meanwhile), its lines are held again.
    if (this.down !== undefined) this.recovered();
    void process.exited.then((status) => {
      if (this.current !== process || this.closed) return;
      this.current = undefined;
      this.fail(process.failure(status));
    });
  }

  private fail(error: HardwareError): void {
    if (this.down === undefined) {
      this.down = error;
      this.options.onDown?.(error);
    }
    this.scheduleRestart(error);
  }

  private recovered(): void {
    this.down = undefined;
    this.failures = 0;
    this.options.logger.info({ device: this.options.device }, `${this.options.device}: restarted, its lines are available again`);
    this.options.onUp?.();
  }

  private scheduleRestart(error: HardwareError): void {
    const delays = this.options.restartDelaysMs ?? DEFAULT_RESTART_DELAYS_MS;
    const delay = delays[Math.min(this.failures, delays.length - 1)] ?? 1000;
    this.failures += 1;
    this.options.logger.error({ err: error, device: this.options.device, restartInMs: delay }, `${this.options.device}: the tool stopped, restarting it in ${delay} ms; its lines are unavailable meanwhile`);
    // A failure of this attempt schedules the next one (replace() above).
    this.timer = setTimeout(() => void this.restart().catch(() => {}), delay);
  }
}
