import type { BridgeSet } from '../bridge/bridge-set.js';
import type { EmbeddedBroker } from '../broker/broker.js';
import type { Gateway } from '../gateway/gateway.js';
import { healthzRoute } from '../http/routes/healthz.js';
import { metricsRoute } from '../http/routes/metrics.js';
import { HttpServer } from '../http/server.js';
import { defaultHealthTopic } from '../ops/config.js';
import { HealthReporter } from '../ops/health-summary.js';
import { HealthTopicPublisher } from '../ops/health-topic.js';
import { ApplicationMetrics } from '../ops/metrics/application-metrics.js';
import type { Logger } from '../util/logger.js';
import type { AppConfig } from './config/schema.js';
import type { ApplicationHealth } from './lifecycle.js';
import type { Service } from './service.js';

/** The running parts the operations services look at. */
export interface OperatedParts {
  broker: EmbeddedBroker;
  bridges: BridgeSet;
  /** Read when asked: it is built after the metrics (it takes their read-time histogram). */
  gateway: () => Gateway | undefined;
  health: () => ApplicationHealth;
}

/** The metrics, when the HTTP server that serves them is configured; the gateway takes their `readTimes`. */
export function createMetrics(config: AppConfig, parts: Omit<OperatedParts, 'health'>): ApplicationMetrics | undefined {
  if (!config.http?.enabled) return undefined;
  return new ApplicationMetrics({
    broker: parts.broker,
    sensorCounters: () => parts.gateway()?.sensorCounters() ?? {},
    bridgeSnapshots: () => parts.bridges.snapshots(),
  });
}

/**
 * The operations services, to run after every other one (their first look should see everything started) and stop
 * first: the HTTP server of /healthz and /metrics, and the retained health topic.
 */
export function operationsServices(
  config: AppConfig,
  mode: 'run' | 'broker',
  parts: OperatedParts,
  metrics: ApplicationMetrics | undefined,
  logger: Logger,
): { services: Service[]; http: HttpServer | undefined } {
  const reporter = new HealthReporter({
    overall: parts.health,
    broker: parts.broker,
    sensorCounters: () => parts.gateway()?.sensorCounters() ?? {},
    gpioAvailability: () => parts.gateway()?.gpioAvailability() ?? {},
    bridgeSnapshots: () => parts.bridges.snapshots(),
  });
  const services: Service[] = [];
  let http: HttpServer | undefined;
  if (config.http?.enabled) {
    const routes = [healthzRoute(reporter), ...(metrics ? [metricsRoute(metrics.registry)] : [])];
    http = new HttpServer({ host: config.http.host, port: config.http.port }, routes, logger);
    services.push(http);
  }
  if (config.health.enabled) {
    const topic = config.health.topic ?? defaultHealthTopic(mode, config.gateway.base_topic);
    services.push(new HealthTopicPublisher(reporter, parts.broker.bus('health'), { topic, intervalMs: config.health.interval }, logger));
  }
  return { services, http };
}
