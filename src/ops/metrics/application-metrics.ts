import { collectDefaultMetrics, Registry } from 'prom-client';
import type { BridgeSnapshot } from '../../bridge/bridge.js';
import type { SensorReadTimes } from '../../gateway/gateway.js';
import type { SensorCounters } from '../../gateway/sensors/sensor-runner.js';
import { registerBridgeMetrics } from './bridge-metrics.js';
import { registerBrokerMetrics, type BrokerMetricsSource } from './broker-metrics.js';
import { registerSensorMetrics } from './sensor-metrics.js';

/** The one prefix of every metric, the process ones included. */
export const METRIC_PREFIX = 'pi_edge_gateway_';

export interface MetricsSources {
  broker: BrokerMetricsSource;
  /** Every sensor's counters; none in `broker` mode. */
  sensorCounters(): Record<string, Readonly<SensorCounters>>;
  bridgeSnapshots(): BridgeSnapshot[];
}

/**
 * The application's metrics, in a registry of its own (never prom-client's global one: two applications in one
 * process, as in tests, would mix). Figures are read from the live objects at scrape time; only sensor read
 * durations are observed as they happen (`readTimes`, handed to the gateway).
 */
export class ApplicationMetrics {
  readonly registry = new Registry();
  readonly readTimes: SensorReadTimes;

  constructor(sources: MetricsSources) {
    registerBrokerMetrics(this.registry, METRIC_PREFIX, sources.broker);
    this.readTimes = registerSensorMetrics(this.registry, METRIC_PREFIX, () => sources.sensorCounters());
    registerBridgeMetrics(this.registry, METRIC_PREFIX, () => sources.bridgeSnapshots());
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }
}
