import { worstOf, type HealthStatus } from '../util/health.js';
import type { Logger } from '../util/logger.js';
import type { BridgeSnapshot } from './bridge.js';
import type { BridgeSection } from './config.js';

/** What the set needs of one bridge (CloudBridge). */
export interface ManagedBridge {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): { status: HealthStatus; detail?: Record<string, unknown> };
  /** For health and metrics; a bridge that has none (a test double) is left out of them. */
  snapshot?(): BridgeSnapshot;
}

/**
 * Every configured bridge, as one service. A reload (SIGHUP) applies a new `bridges:` section without touching what
 * did not change: a bridge whose section changed is stopped and started again with its queue kept on disk, a new one
 * is started, a removed one stopped. Local clients are never disconnected.
 */
export class BridgeSet {
  readonly name = 'bridges';
  private readonly running = new Map<string, { section: BridgeSection; key: string; bridge: ManagedBridge }>();
  private readonly log: Logger;

  constructor(
    private sections: readonly BridgeSection[],
    private readonly create: (section: BridgeSection) => ManagedBridge,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'bridges' });
  }

  async start(): Promise<void> {
    for (const section of this.sections) await this.startOne(section);
  }

  async stop(): Promise<void> {
    const errors: unknown[] = [];
    for (const name of [...this.running.keys()].reverse()) await this.stopOne(name).catch((error: unknown) => errors.push(error));
    if (errors.length > 0) throw new AggregateError(errors, `${errors.length} bridge(s) did not stop cleanly`);
  }

  health(): { status: HealthStatus; detail: Record<string, unknown> } {
    const detail: Record<string, unknown> = {};
    const statuses: HealthStatus[] = [];
    for (const [name, { bridge }] of this.running) {
      const health = bridge.health();
      detail[name] = health;
      statuses.push(health.status);
    }
    return { status: worstOf(statuses), detail };
  }

  /** The running bridges' figures, for health and metrics. */
  snapshots(): BridgeSnapshot[] {
    const snapshots: BridgeSnapshot[] = [];
    for (const { bridge } of this.running.values()) {
      const snapshot = bridge.snapshot?.();
      if (snapshot) snapshots.push(snapshot);
    }
    return snapshots;
  }

  /** Applies a re-read `bridges:` section; returns what it did, for the log and tests. */
  async apply(sections: readonly BridgeSection[]): Promise<{ started: string[]; restarted: string[]; stopped: string[] }> {
    const wanted = new Map(sections.map((section) => [section.connection, section]));
    const done = { started: [] as string[], restarted: [] as string[], stopped: [] as string[] };
    for (const name of [...this.running.keys()]) {
      if (wanted.has(name)) continue;
      await this.stopOne(name).catch((error: unknown) => this.log.error({ connection: name, err: error }, 'bridge did not stop cleanly'));
      done.stopped.push(name);
    }
    for (const section of sections) {
      const current = this.running.get(section.connection);
      if (current?.key === keyOf(section)) continue;
      if (current) {
        await this.stopOne(section.connection).catch((error: unknown) => this.log.error({ connection: section.connection, err: error }, 'bridge did not stop cleanly'));
        done.restarted.push(section.connection);
      } else {
        done.started.push(section.connection);
      }
      await this.startOne(section).catch((error: unknown) => this.log.error({ connection: section.connection, err: error }, 'bridge did not start'));
    }
    this.sections = sections;
    if (done.started.length + done.restarted.length + done.stopped.length > 0) this.log.info(done, 'bridges reloaded');
    return done;
  }

  private async startOne(section: BridgeSection): Promise<void> {
    const bridge = this.create(section);
    await bridge.start();
    this.running.set(section.connection, { section, key: keyOf(section), bridge });
  }

  private async stopOne(name: string): Promise<void> {
    const entry = this.running.get(name);
    this.running.delete(name);
    await entry?.bridge.stop();
  }
}

/** A section's identity for a reload: any change of any setting restarts the bridge. */
function keyOf(section: BridgeSection): string {
  return JSON.stringify(section);
}
