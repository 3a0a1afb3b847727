import type { LocalBus } from '../bus/local-bus.js';
import type { ServiceHealth } from '../util/health.js';
import type { Logger } from '../util/logger.js';
import type { HealthSummary } from './health-summary.js';

export interface HealthTopicOptions {
  topic: string;
  /** How often the summary is checked; it is published only when it changed. */
  intervalMs: number;
}

/**
 * Publishes the health summary, compact JSON, retained at QoS 1 on the local bus: at start, then whenever it changed,
 * checked every interval (so at most once per interval). On stop it publishes `{"status":"stopped"}`, so the retained
 * message never says `ok` about a gateway that is gone. It is the last service to start: its first summary is taken
 * once every other service runs.
 */
export class HealthTopicPublisher {
  readonly name = 'health-topic';
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private publishing: Promise<void> | undefined;
  private published = 0;

  constructor(
    private readonly reporter: { summary(): HealthSummary },
    private readonly bus: LocalBus,
    private readonly options: HealthTopicOptions,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'health-topic' });
  }

  async start(): Promise<void> {
    // After start() returns, so the lifecycle counts this service as running when the first summary is taken.
    this.timer = setTimeout(() => this.tick(), 0);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.publishing;
    await this.publish(JSON.stringify({ status: 'stopped', time: new Date().toISOString() }));
  }

  health(): ServiceHealth {
    return { status: 'ok', detail: { topic: this.options.topic, published: this.published } };
  }

  private tick(): void {
    if (!this.timer) return;
    // One publish at a time: a tick during a slow one skips, the next compares again.
    if (!this.publishing) {
      const summary = this.reporter.summary();
      const key = JSON.stringify(summary);
      if (key !== this.last) {
        this.publishing = this.publish(JSON.stringify({ ...summary, time: new Date().toISOString() }))
          .then((ok) => {
            if (ok) this.last = key;
          })
          .finally(() => (this.publishing = undefined));
      }
    }
    this.timer = setTimeout(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  /** True once the broker took it; a failure is logged and the next tick tries again. */
  private async publish(payload: string): Promise<boolean> {
    try {
      await this.bus.publish({ topic: this.options.topic, payload, qos: 1, retain: true });
      this.published++;
      return true;
    } catch (error) {
      this.log.warn({ topic: this.options.topic, err: error }, 'health summary not published');
      return false;
    }
  }
}
