import type { BridgeSnapshot } from '../bridge/bridge.js';
import type { BrokerTraffic } from '../broker/broker.js';
import type { BusSubscription, DeliveredMessage, LocalBus } from '../bus/local-bus.js';
import type { SensorCounters } from '../gateway/sensors/sensor-runner.js';
import type { ServiceHealth } from '../util/health.js';
import type { Logger } from '../util/logger.js';
import { BucketedSeries, type Point } from './bucketed-series.js';
import type { LogEntry, RecentWarnings } from './recent-warnings.js';

/** The plots cover the last hour… */
export const HISTORY_MS = 3_600_000;
/** …with one point per 10 s: 360 points per series, whatever a sensor's interval. */
export const HISTORY_BUCKET_MS = 10_000;

export type Availability = 'online' | 'offline' | 'unknown';
export type DeviceKind = 'sensor' | 'input' | 'output';

export interface DeviceView {
  kind: DeviceKind;
  name: string;
  label: string;
  availability: Availability;
  /** Sensors: the last published values and their units. */
  values?: Record<string, number>;
  units?: Record<string, string>;
  /** Inputs and outputs: ON / OFF. */
  state?: string;
  /** ISO time of the last published state. */
  time?: string;
  /** Sensors: ISO time of the last good read (a filter may have held its value back). */
  lastGoodRead?: string;
  lastError?: string;
}

export interface BridgeView {
  connection: string;
  connected: boolean;
  depth: number | null;
  bytes: number | null;
  oldestAgeSeconds: number | null;
  inflight: number;
  sent: number;
  received: number;
  lost: number;
  reconnects: number;
  /** Messages sent to the cloud per second, over the last update interval. */
  sentPerSecond: number;
}

export interface BrokerView {
  clients: number;
  /** PUBLISH packets received and sent per second, over the last update interval. */
  receivedPerSecond: number;
  sentPerSecond: number;
  retained: number;
  subscriptions: number;
  uptimeSeconds: number;
}

export interface StatsView {
  time: number;
  broker: BrokerView;
  bridges: BridgeView[];
}

export interface GatewayView {
  id: string;
  name: string;
  baseTopic: string;
  /** `<base>/status` as last published: online while the gateway runs. */
  status: string;
  mode: 'run' | 'broker';
}

export interface Snapshot {
  gateway: GatewayView;
  devices: DeviceView[];
  stats: StatsView;
  warnings: LogEntry[];
  /** Series key (`sensor/<name>/<channel>`, `bridge/<connection>/depth`) to its points of the last hour. */
  history: Record<string, Point[]>;
  historyMs: number;
}

/** What a page is told after the snapshot; each replaces the part it names. */
export type LiveEvent =
  | { type: 'device'; device: DeviceView; points?: Record<string, Point> }
  | { type: 'stats'; stats: StatsView; points: Record<string, Point> }
  | { type: 'warning'; entry: LogEntry }
  | { type: 'gateway'; gateway: GatewayView };

export interface LiveViewSources {
  /** The view's own handle: it only subscribes and reads retained messages. */
  bus: LocalBus;
  gateway: { id: string; name: string; baseTopic: string; mode: 'run' | 'broker' };
  devices: { kind: DeviceKind; name: string; label?: string | undefined }[];
  broker: { traffic(): BrokerTraffic; readonly connectedClients: number; uptimeSeconds(): number };
  bridgeSnapshots(): BridgeSnapshot[];
  sensorCounters(): Record<string, Readonly<SensorCounters>>;
  warnings?: RecentWarnings | undefined;
  updateIntervalMs: number;
  logger: Logger;
  now?: () => number;
}

/**
 * The gateway as the live page sees it, kept current in memory: device states and availability from the same
 * retained MQTT topics any client reads (subscribed on the local bus), broker and bridge figures sampled every
 * update interval, the last hour of each sensor channel and bridge queue in bounded series, and the recent warnings.
 * Pages subscribe to its events; it knows nothing of HTTP.
 */
export class LiveView {
  readonly name = 'live-view';
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly devices = new Map<string, DeviceView>();
  private readonly series = new Map<string, BucketedSeries>();
  private readonly listeners = new Set<(event: LiveEvent) => void>();
  private readonly gatewayView: GatewayView;
  private subscriptions: BusSubscription[] = [];
  private stopWarnings: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stats: StatsView;
  private previous: { at: number; traffic: BrokerTraffic; sent: Map<string, number> } | undefined;

  constructor(private readonly sources: LiveViewSources) {
    this.log = sources.logger.child({ module: 'live-view' });
    this.now = sources.now ?? Date.now;
    this.gatewayView = { ...sources.gateway, status: 'unknown' };
    for (const device of sources.devices) {
      this.devices.set(device.name, { kind: device.kind, name: device.name, label: device.label ?? device.name, availability: 'unknown' });
    }
    this.stats = { time: this.now(), broker: { clients: 0, receivedPerSecond: 0, sentPerSecond: 0, retained: 0, subscriptions: 0, uptimeSeconds: 0 }, bridges: [] };
  }

  async start(): Promise<void> {
    const base = this.sources.gateway.baseTopic;
    const filters = [`${base}/+/state`, `${base}/+/availability`, `${base}/status`];
    // What was published before the page's first look is in the retained store; what follows arrives live.
    for (const filter of filters) {
      for (const message of await this.sources.bus.retained(filter)) this.onMessage(message, false);
      this.subscriptions.push(await this.sources.bus.subscribe(filter, (message) => this.onMessage(message, true)));
    }
    this.stopWarnings = this.sources.warnings?.onEntry((entry) => this.emit({ type: 'warning', entry }));
    this.sample();
    this.timer = setInterval(() => this.sample(), this.sources.updateIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopWarnings?.();
    await Promise.all(this.subscriptions.splice(0).map((s) => s.unsubscribe()));
  }

  health(): ServiceHealth {
    return { status: this.timer ? 'ok' : 'failed', detail: { pages: this.listeners.size } };
  }

  snapshot(): Snapshot {
    const since = this.now() - HISTORY_MS;
    const history: Record<string, Point[]> = {};
    for (const [key, series] of this.series) history[key] = series.points(since);
    return {
      gateway: { ...this.gatewayView },
      devices: [...this.devices.values()].map((d) => structuredClone(d)),
      stats: this.stats,
      warnings: this.sources.warnings?.list() ?? [],
      history,
      historyMs: HISTORY_MS,
    };
  }

  /** Returns the function that stops listening. */
  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get pages(): number {
    return this.listeners.size;
  }

  private emit(event: LiveEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.error({ err: error }, 'page listener failed');
      }
    }
  }

  private onMessage(message: DeliveredMessage | { topic: string; payload: Buffer }, live: boolean): void {
    const base = this.sources.gateway.baseTopic;
    const rest = message.topic.slice(base.length + 1);
    if (rest === 'status') {
      this.gatewayView.status = message.payload.toString();
      if (live) this.emit({ type: 'gateway', gateway: { ...this.gatewayView } });
      return;
    }
    const [name, leaf] = rest.split('/');
    const device = name === undefined ? undefined : this.devices.get(name);
    if (!device) return;
    const points: Record<string, Point> = {};
    if (leaf === 'availability') {
      const text = message.payload.toString();
      device.availability = text === 'online' || text === 'offline' ? text : 'unknown';
    } else if (leaf === 'state') {
      const body = parseObject(message.payload);
      if (!body) return;
      if (typeof body.time === 'string') device.time = body.time;
      if (device.kind === 'sensor') {
        device.values = {};
        for (const [key, value] of Object.entries(body)) if (typeof value === 'number' && Number.isFinite(value)) device.values[key] = value;
        if (isStringRecord(body.units)) device.units = { ...device.units, ...body.units };
        const at = typeof body.time === 'string' ? Date.parse(body.time) : this.now();
        for (const [key, value] of Object.entries(device.values)) points[`sensor/${device.name}/${key}`] = this.record(`sensor/${device.name}/${key}`, Number.isNaN(at) ? this.now() : at, value);
      } else if (typeof body.state === 'string') {
        device.state = body.state;
      }
    } else {
      return;
    }
    if (live) this.emit({ type: 'device', device: structuredClone(device), points });
  }

  private record(key: string, at: number, value: number): Point {
    let series = this.series.get(key);
    if (!series) {
      series = new BucketedSeries(Math.ceil(HISTORY_MS / HISTORY_BUCKET_MS), HISTORY_BUCKET_MS);
      this.series.set(key, series);
    }
    return series.add(at, value);
  }

  /** Broker and bridge figures, the bridges' queue depth into their series, and the sensors' read times and errors. */
  private sample(): void {
    const at = this.now();
    const traffic = this.sources.broker.traffic();
    const snapshots = this.sources.bridgeSnapshots();
    const previous = this.previous;
    const seconds = previous ? Math.max((at - previous.at) / 1000, 0.001) : 0;
    const rate = (now: number, before: number | undefined) => (previous && before !== undefined ? Math.max(0, (now - before) / seconds) : 0);
    const points: Record<string, Point> = {};
    const bridges = snapshots.map((snapshot): BridgeView => {
      const queue = snapshot.queue;
      if (queue) points[`bridge/${snapshot.connection}/depth`] = this.record(`bridge/${snapshot.connection}/depth`, at, queue.depth);
      return {
        connection: snapshot.connection,
        connected: snapshot.connected,
        depth: queue?.depth ?? null,
        bytes: queue?.bytes ?? null,
        oldestAgeSeconds: queue ? Math.floor((queue.oldestAgeMs ?? 0) / 1000) : null,
        inflight: snapshot.inflight,
        sent: snapshot.counters.sent,
        received: snapshot.counters.received,
        lost: snapshot.counters.failedAppends,
        reconnects: Math.max(0, snapshot.connections - 1),
        sentPerSecond: round(rate(snapshot.counters.sent, previous?.sent.get(snapshot.connection))),
      };
    });
    this.stats = {
      time: at,
      broker: {
        clients: this.sources.broker.connectedClients,
        receivedPerSecond: round(rate(traffic.messagesReceived, previous?.traffic.messagesReceived)),
        sentPerSecond: round(rate(traffic.messagesSent, previous?.traffic.messagesSent)),
        retained: traffic.retainedMessages,
        subscriptions: traffic.subscriptions,
        uptimeSeconds: this.sources.broker.uptimeSeconds(),
      },
      bridges,
    };
    this.previous = { at, traffic, sent: new Map(snapshots.map((s) => [s.connection, s.counters.sent])) };
    this.refreshSensorCounters();
    this.emit({ type: 'stats', stats: this.stats, points });
  }

  /** The last good read and the last error are not on MQTT: they come from the sensor loops' counters. */
  private refreshSensorCounters(): void {
    for (const [name, counters] of Object.entries(this.sources.sensorCounters())) {
      const device = this.devices.get(name);
      if (!device) continue;
      const lastGoodRead = counters.lastGoodReadAt === undefined ? undefined : new Date(counters.lastGoodReadAt).toISOString();
      if (lastGoodRead === device.lastGoodRead && counters.lastError === device.lastError) continue;
      if (lastGoodRead !== undefined) device.lastGoodRead = lastGoodRead;
      if (counters.lastError !== undefined) device.lastError = counters.lastError;
      this.emit({ type: 'device', device: structuredClone(device) });
    }
  }
}

function parseObject(payload: Buffer): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(payload.toString()) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return value !== null && typeof value === 'object' && Object.values(value).every((v) => typeof v === 'string');
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
