import type { BitValue, GpioLine } from '../../drivers/types.js';
import { systemClock, type Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { toOnOff } from './state.js';
import type { OnOff, OutputAction } from './types.js';

export interface ManagedOutput {
  name: string;
  /** An output line, already opened by the GPIO controller; the executor drives it but does not close it. */
  line: GpioLine;
  /** Logical level driven on shutdown (default 0, off); `keep` leaves the output as it is. */
  failSafe?: BitValue | 'keep';
}

export type OutputChangeCause = 'command' | 'revert' | 'shutdown';

/** Reported after every successful write, so the caller can publish `<base>/<output>/state`. */
export interface OutputStateReport {
  output: string;
  state: OnOff;
  /** The state before this write; `undefined` when it was never known. */
  previous: OnOff | undefined;
  cause: OutputChangeCause;
  /** For timed commands: when (epoch ms, by the injected clock) and to what the output will return. */
  revert?: { at: number; to: OnOff };
}

export interface OutputFailure {
  output: string;
  message: string;
  error: unknown;
}

export interface ApplyOutcome {
  /** New state of every output the actions touched successfully. */
  states: Record<string, OnOff>;
  failures: OutputFailure[];
}

export interface OutputExecutorOptions {
  /** Times the reverts of timed commands and says when they will happen (default systemClock). */
  clock?: Clock;
  logger?: Logger;
  /** Called after each write with the new state (commands, timed reverts, shutdown). */
  onState?: (report: OutputStateReport) => void;
}

export class OutputExecutorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class UnknownOutputError extends OutputExecutorError {
  constructor(readonly output: string) {
    super(`unknown output "${output}"`);
  }
}

export class ExecutorShutDownError extends OutputExecutorError {
  constructor() {
    super('the output executor has been shut down; no further commands are accepted');
  }
}

interface PendingRevert {
  handle: unknown;
  to: BitValue;
  at: number;
}

interface OutputEntry {
  readonly config: ManagedOutput;
  level: BitValue | undefined;
  pending: PendingRevert | undefined;
  /** A timed revert whose write failed: still owed, applied by lineRestored() unless a command supersedes it. */
  missedRevert: BitValue | undefined;
}

/**
 * Applies parsed OutputActions to GPIO output lines. Writes are serialised (one at a time, in arrival order), so a
 * timed revert never interleaves with a command. A new command for an output cancels its pending revert; a new timed
 * command on an output that is already timed keeps the original level as its revert target (extending the pulse).
 */
export class OutputExecutor {
  private readonly entries = new Map<string, OutputEntry>();
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly onState: ((report: OutputStateReport) => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private shutdownPromise: Promise<ApplyOutcome> | undefined;

  constructor(outputs: readonly ManagedOutput[], options: OutputExecutorOptions = {}) {
    for (const output of outputs) {
      if (this.entries.has(output.name)) throw new OutputExecutorError(`output "${output.name}" is configured twice`);
      this.entries.set(output.name, { config: output, level: undefined, pending: undefined, missedRevert: undefined });
    }
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.onState = options.onState;
  }

  /** Read every line's current level, to publish initial states. Failed reads leave the state unknown. */
  async init(): Promise<ApplyOutcome> {
    return this.enqueue(async () => {
      const outcome: ApplyOutcome = { states: {}, failures: [] };
      for (const [name, entry] of this.entries) {
        try {
          entry.level = await entry.config.line.read();
          outcome.states[name] = toOnOff(entry.level);
        } catch (error) {
          outcome.failures.push(failure(name, error));
        }
      }
      return outcome;
    });
  }

  /**
   * Apply actions in order. Throws UnknownOutputError (before touching any line) when an action names an unknown
   * output, ExecutorShutDownError after shutdown(). Hardware failures are reported per output in the outcome.
   */
  async apply(actions: readonly OutputAction[]): Promise<ApplyOutcome> {
    if (this.shutdownPromise) throw new ExecutorShutDownError();
    for (const action of actions) {
      if (!this.entries.has(action.output)) throw new UnknownOutputError(action.output);
      if (action.durationMs !== undefined && !(action.durationMs > 0 && action.durationMs <= 2_147_483_647)) {
        throw new OutputExecutorError(`output "${action.output}": duration ${action.durationMs} ms is out of range`);
      }
    }
    return this.enqueue(async () => {
      const outcome: ApplyOutcome = { states: {}, failures: [] };
      for (const action of actions) {
        // Shutdown may have begun while this batch waited in the queue.
        if (this.shutdownPromise) {
          outcome.failures.push({ output: action.output, message: 'shutting down', error: new ExecutorShutDownError() });
          continue;
        }
        try {
          outcome.states[action.output] = await this.execute(this.entries.get(action.output)!, action);
        } catch (error) {
          outcome.failures.push(failure(action.output, error));
        }
      }
      return outcome;
    });
  }

  state(output: string): OnOff | undefined {
    const level = this.entries.get(output)?.level;
    return level === undefined ? undefined : toOnOff(level);
  }

  /** Known states of all outputs. */
  states(): Record<string, OnOff> {
    const states: Record<string, OnOff> = {};
    for (const [name, entry] of this.entries) if (entry.level !== undefined) states[name] = toOnOff(entry.level);
    return states;
  }

  /** The pending timed revert of an output, if any. */
  pendingRevert(output: string): { at: number; to: OnOff } | undefined {
    const pending = this.entries.get(output)?.pending;
    return pending ? { at: pending.at, to: toOnOff(pending.to) } : undefined;
  }

  /** Cancel pending reverts and drive every output to its fail-safe level. Idempotent; refuses commands afterwards. */
  shutdown(): Promise<ApplyOutcome> {
    if (this.shutdownPromise) return this.shutdownPromise;
    for (const entry of this.entries.values()) this.cancelRevert(entry);
    this.shutdownPromise = this.enqueue(async () => {
      const outcome: ApplyOutcome = { states: {}, failures: [] };
      for (const [name, entry] of this.entries) {
        this.cancelRevert(entry);
        const failSafe = entry.config.failSafe ?? 0;
        if (failSafe === 'keep') continue;
        try {
          outcome.states[name] = await this.drive(entry, failSafe, 'shutdown');
        } catch (error) {
          outcome.failures.push(failure(name, error));
          this.logger?.error({ output: name, err: error }, 'could not drive output to its fail-safe level');
        }
      }
      return outcome;
    });
    return this.shutdownPromise;
  }

  private async execute(entry: OutputEntry, action: OutputAction): Promise<OnOff> {
    const current = entry.level ?? (await entry.config.line.read());
    entry.level = current;
    const target: BitValue = action.action === 'toggle' ? (current === 1 ? 0 : 1) : action.action === 'on' ? 1 : 0;
    const revertTo = entry.pending?.to ?? current;
    let revert: PendingRevert | undefined;
    if (action.durationMs !== undefined) {
      revert = { handle: undefined, to: revertTo, at: this.clock.now() + action.durationMs };
    }
    const state = await this.drive(entry, target, 'command', revert);
    // Only a successful write replaces the pending revert: if it failed, the old revert still has to happen.
    this.cancelRevert(entry);
    entry.missedRevert = undefined;
    if (revert && action.durationMs !== undefined) {
      const pending = revert;
      pending.handle = this.clock.setTimeout(() => this.onRevertDue(entry, pending), action.durationMs);
      entry.pending = pending;
    }
    return state;
  }

  private onRevertDue(entry: OutputEntry, pending: PendingRevert): void {
    void this.enqueue(async () => {
      if (entry.pending !== pending || this.shutdownPromise) return;
      entry.pending = undefined;
      try {
        await this.drive(entry, pending.to, 'revert');
      } catch (error) {
        entry.missedRevert = pending.to;
        this.logger?.error({ output: entry.config.name, err: error }, 'timed command could not revert the output; retried when its line is back');
      }
    });
  }

  /**
   * The output's line is usable again after an outage (its backend re-applied the last level written). A timed
   * revert that fell due meanwhile is applied now: a pulse must not stay on because its line was briefly gone.
   */
  lineRestored(output: string): Promise<void> {
    const entry = this.entries.get(output);
    if (!entry) return Promise.resolve();
    return this.enqueue(async () => {
      const owed = entry.missedRevert;
      if (owed === undefined || this.shutdownPromise) return;
      try {
        await this.drive(entry, owed, 'revert');
        entry.missedRevert = undefined;
      } catch (error) {
        this.logger?.error({ output, err: error }, 'timed command could not revert the output after its line came back');
      }
    });
  }

  private async drive(entry: OutputEntry, level: BitValue, cause: OutputChangeCause, revert?: PendingRevert): Promise<OnOff> {
    const previous = entry.level === undefined ? undefined : toOnOff(entry.level);
    await entry.config.line.write(level);
    entry.level = level;
    const state = toOnOff(level);
    const report: OutputStateReport = { output: entry.config.name, state, previous, cause };
    if (revert) report.revert = { at: revert.at, to: toOnOff(revert.to) };
    try {
      this.onState?.(report);
    } catch (error) {
      this.logger?.warn({ output: entry.config.name, err: error }, 'output state listener failed');
    }
    return state;
  }

  private cancelRevert(entry: OutputEntry): void {
    if (entry.pending === undefined) return;
    this.clock.clearTimeout(entry.pending.handle);
    entry.pending = undefined;
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function failure(output: string, error: unknown): OutputFailure {
  return { output, message: error instanceof Error ? error.message : String(error), error };
}
