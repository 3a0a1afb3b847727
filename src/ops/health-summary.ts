import type { ApplicationHealth } from '../app/lifecycle.js';
import type { BridgeSnapshot } from '../bridge/bridge.js';
import type { ListenerState } from '../broker/broker.js';
import type { GpioDeviceHealth } from '../gateway/gpio-availability.js';
import type { SensorCounters } from '../gateway/sensors/sensor-runner.js';
import type { HealthStatus } from '../util/health.js';

/** What the summary reads, each through the narrowest view of the live object. */
export interface HealthSources {
  /** The lifecycle's verdict: the worst status of every service. */
  overall(): ApplicationHealth;
  broker: { listenerStates(): ListenerState[]; readonly connectedClients: number };
  /** Every sensor's counters; none in `broker` mode. */
  sensorCounters(): Record<string, Readonly<SensorCounters>>;
  /** Every input's and output's availability; none in `broker` mode (or when not given). */
  gpioAvailability?(): Record<string, Readonly<GpioDeviceHealth>>;
  bridgeSnapshots(): BridgeSnapshot[];
}

export type Availability = 'online' | 'offline' | 'unknown';

export interface SensorHealth {
  /** `unknown` until the first read decided it. */
  availability: Availability;
  /** The last failed read's error, kept after recovery so a flapping sensor can be diagnosed. */
  lastError?: string;
}

export interface GpioHealth {
  kind: 'input' | 'output';
  /** `offline` while its line is unavailable (e.g. the libgpiod tool holding it died and is being restarted). */
  availability: 'online' | 'offline';
  /** Why it last went offline, kept after recovery. */
  lastError?: string;
}

export interface BridgeHealth {
  connected: boolean;
  /** Messages its queue refused or could not write: they will not reach the cloud. */
  lostMessages: number;
  queue: { depth: number; bytes: number; oldestAgeSeconds: number } | null;
}

/**
 * The state of the gateway in one object, the same for `/healthz` and the retained MQTT topic. Only states, no
 * counters: it changes when something happens, not with every message (the counters are in /metrics).
 */
export interface HealthSummary {
  status: HealthStatus;
  /** One line per thing that is not right, in words, for the operator's one look. */
  problems: string[];
  services: Record<string, HealthStatus>;
  broker: { listeners: ListenerState[]; clients: number };
  sensors: Record<string, SensorHealth>;
  /** Inputs and outputs whose line opened. */
  gpio: Record<string, GpioHealth>;
  bridges: Record<string, BridgeHealth>;
}

/** Builds the summary from the running application each time it is asked. */
export class HealthReporter {
  constructor(private readonly sources: HealthSources) {}

  summary(): HealthSummary {
    const overall = this.sources.overall();
    const problems: string[] = [];
    const explained = new Set<string>();
    const note = (service: string, problem: string) => {
      problems.push(problem);
      explained.add(service);
    };

    const listeners = this.sources.broker.listenerStates();
    for (const listener of listeners) if (!listener.listening) note('broker', `broker: ${listener.name} is not listening`);

    const sensors: Record<string, SensorHealth> = {};
    for (const [name, counters] of Object.entries(this.sources.sensorCounters())) {
      const availability: Availability = counters.online === undefined ? 'unknown' : counters.online ? 'online' : 'offline';
      sensors[name] = { availability, ...(counters.lastError === undefined ? {} : { lastError: counters.lastError }) };
      if (availability === 'offline') note('gateway', `sensor ${name} offline: ${counters.lastError ?? 'no reading'}`);
    }

    const gpio: Record<string, GpioHealth> = {};
    for (const [name, device] of Object.entries(this.sources.gpioAvailability?.() ?? {})) {
      gpio[name] = { kind: device.kind, availability: device.online ? 'online' : 'offline', ...(device.lastError === undefined ? {} : { lastError: device.lastError }) };
      if (!device.online) note('gateway', `${device.kind} ${name} offline: ${device.lastError ?? 'its GPIO line is unavailable'}`);
    }

    const bridges: Record<string, BridgeHealth> = {};
    for (const snapshot of this.sources.bridgeSnapshots()) {
      const { queue } = snapshot;
      bridges[snapshot.connection] = {
        connected: snapshot.connected,
        lostMessages: snapshot.counters.failedAppends,
        queue: queue ? { depth: queue.depth, bytes: queue.bytes, oldestAgeSeconds: Math.floor((queue.oldestAgeMs ?? 0) / 1000) } : null,
      };
      if (!snapshot.connected) note('bridges', `bridge ${snapshot.connection} disconnected${queue && queue.depth > 0 ? `, ${queue.depth} messages waiting` : ''}`);
      if (snapshot.queueProblem) note('bridges', `bridge ${snapshot.connection}: ${snapshot.queueProblem}`);
      if (snapshot.losing) note('bridges', `bridge ${snapshot.connection}: messages refused by its queue are being lost`);
    }

    const services: Record<string, HealthStatus> = {};
    for (const [name, health] of Object.entries(overall.services)) {
      services[name] = health.status;
      if (health.status !== 'ok' && !explained.has(name)) problems.push(`${name}: ${health.detail?.running === false ? 'not running' : health.status}`);
    }
    return { status: overall.status, problems, services, broker: { listeners, clients: this.sources.broker.connectedClients }, sensors, gpio, bridges };
  }
}
