import type { Logger } from '../util/logger.js';
import { LoadAverage, type BrokerStats } from './stats.js';

export interface SysSource {
  stats: BrokerStats;
  version: string;
  connectedClients(): number;
  bytesReceived(): number;
  bytesSent(): number;
  publish(topic: string, payload: string): void;
}

/**
 * Publishes `$SYS/broker/...` every interval, with Mosquitto's topic names so dashboards and scripts written for
 * it keep working. Retained, like Mosquitto's, so a new subscriber sees values at once.
 */
export class SysTopicsPublisher {
  private timer: NodeJS.Timeout | undefined;
  private readonly loads: Record<string, LoadAverage>;
  private heapMaximum = 0;

  constructor(
    private readonly source: SysSource,
    private readonly intervalSeconds: number,
    private readonly logger: Logger,
  ) {
    const make = () => new LoadAverage(intervalSeconds);
    this.loads = {
      'messages/received': make(),
      'messages/sent': make(),
      'publish/received': make(),
      'publish/sent': make(),
      'bytes/received': make(),
      'bytes/sent': make(),
      connections: make(),
    };
  }

  start(): void {
    if (this.intervalSeconds <= 0) return;
    this.source.publish('$SYS/broker/version', this.source.version);
    this.publishAll();
    this.timer = setInterval(() => this.publishAll(), this.intervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The current values, topic → payload. */
  snapshot(): Map<string, string> {
    const { stats } = this.source;
    const connected = this.source.connectedClients();
    const total = Math.max(connected, stats.persistentClients.size);
    const bytesReceived = this.source.bytesReceived();
    const bytesSent = this.source.bytesSent();
    const heap = process.memoryUsage().heapUsed;
    this.heapMaximum = Math.max(this.heapMaximum, heap);

    const counters: Record<string, number> = {
      'messages/received': stats.publishReceived,
      'messages/sent': stats.publishSent,
      'publish/received': stats.publishReceived,
      'publish/sent': stats.publishSent,
      'bytes/received': bytesReceived,
      'bytes/sent': bytesSent,
      connections: stats.connectionsTotal,
    };
    const values = new Map<string, string>([
      ['$SYS/broker/uptime', `${stats.uptimeSeconds()} seconds`],
      ['$SYS/broker/clients/connected', String(connected)],
      ['$SYS/broker/clients/active', String(connected)],
      ['$SYS/broker/clients/disconnected', String(Math.max(0, total - connected))],
      ['$SYS/broker/clients/total', String(total)],
      ['$SYS/broker/clients/maximum', String(stats.clientsMaximum)],
      ['$SYS/broker/messages/received', String(stats.publishReceived)],
      ['$SYS/broker/messages/sent', String(stats.publishSent)],
      ['$SYS/broker/publish/messages/received', String(stats.publishReceived)],
      ['$SYS/broker/publish/messages/sent', String(stats.publishSent)],
      ['$SYS/broker/publish/messages/dropped', String(stats.publishDropped)],
      ['$SYS/broker/bytes/received', String(bytesReceived)],
      ['$SYS/broker/bytes/sent', String(bytesSent)],
      ['$SYS/broker/retained messages/count', String(stats.retainedTopics.size)],
      ['$SYS/broker/subscriptions/count', String(stats.subscriptionCount())],
      ['$SYS/broker/heap/current', String(heap)],
      ['$SYS/broker/heap/maximum', String(this.heapMaximum)],
    ]);
    for (const [name, load] of Object.entries(this.loads)) {
      load.update(counters[name]!);
      values.set(`$SYS/broker/load/${name}/1min`, load.oneMinute.toFixed(2));
      values.set(`$SYS/broker/load/${name}/5min`, load.fiveMinutes.toFixed(2));
      values.set(`$SYS/broker/load/${name}/15min`, load.fifteenMinutes.toFixed(2));
    }
    return values;
  }

  private publishAll(): void {
    try {
      for (const [topic, payload] of this.snapshot()) this.source.publish(topic, payload);
    } catch (error) {
      this.logger.error({ err: error }, '$SYS update failed');
    }
  }
}
