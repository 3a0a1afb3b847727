import type { BridgeSet } from '../bridge/bridge-set.js';
import type { EmbeddedBroker } from '../broker/broker.js';
import type { Gateway } from '../gateway/gateway.js';
import path from 'node:path';
import { isLoopbackHost } from '../broker/options.js';
import { effectiveWebAccess } from '../http/config.js';
import type { Route } from '../http/route.js';
import { healthzRoute } from '../http/routes/healthz.js';
import { metricsRoute } from '../http/routes/metrics.js';
import { webCommandRoute } from '../http/routes/web-command.js';
import { webEventsRoute } from '../http/routes/web-events.js';
import { webPageRoutes } from '../http/routes/web-page.js';
import { webStateRoute } from '../http/routes/web-state.js';
import { HttpServer } from '../http/server.js';
import { WebAccessGuard } from '../http/web-access.js';
import { packageInfo } from '../util/package-info.js';
import { LiveView } from '../web/live-view.js';
import { OutputCommands } from '../web/output-commands.js';
import type { RecentWarnings } from '../web/recent-warnings.js';
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
  /** The log's recent warnings, for the page; none when the caller's logger does not feed one. */
  warnings?: RecentWarnings | undefined;
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
    const routes: Route[] = [healthzRoute(reporter), ...(metrics ? [metricsRoute(metrics.registry)] : [])];
    if (config.http.web.enabled) {
      const web = webServices(config, mode, parts, logger);
      services.push(...web.services);
      routes.push(...web.routes);
    }
    http = new HttpServer({ host: config.http.host, port: config.http.port }, routes, logger);
    services.push(http);
  }
  if (config.health.enabled) {
    const topic = config.health.topic ?? defaultHealthTopic(mode, config.gateway.base_topic);
    services.push(new HealthTopicPublisher(reporter, parts.broker.bus('health'), { topic, intervalMs: config.health.interval }, logger));
  }
  return { services, http };
}

/** Web page timing: a command the gateway has not answered in this time is reported as such to the page. */
const COMMAND_TIMEOUT_MS = 5_000;

/** The live page: its view of the gateway and its command path (services, started before the server), and its routes. */
function webServices(config: AppConfig, mode: 'run' | 'broker', parts: OperatedParts, logger: Logger): { services: Service[]; routes: Route[] } {
  const http = config.http!;
  const base = config.gateway.base_topic;
  const bus = parts.broker.bus('web');
  const devices =
    mode === 'run'
      ? [
          ...config.sensors.map((d) => ({ kind: 'sensor' as const, name: d.name, label: d.friendly_name })),
          ...config.inputs.map((d) => ({ kind: 'input' as const, name: d.name, label: d.friendly_name })),
          ...config.outputs.map((d) => ({ kind: 'output' as const, name: d.name, label: d.friendly_name })),
        ]
      : [];
  const view = new LiveView({
    bus,
    gateway: { id: config.gateway.id, name: config.gateway.name ?? config.gateway.id, baseTopic: base, mode },
    devices,
    broker: { traffic: () => parts.broker.traffic(), get connectedClients() { return parts.broker.connectedClients; }, uptimeSeconds: () => parts.broker.stats.uptimeSeconds() },
    bridgeSnapshots: () => parts.bridges.snapshots(),
    sensorCounters: () => parts.gateway()?.sensorCounters() ?? {},
    warnings: parts.warnings,
    updateIntervalMs: http.web.update_interval,
    logger,
  });
  const commands = new OutputCommands(bus, { setTopic: (output) => `${base}/${output}/set`, responseTopic: `${base}/command/response`, timeoutMs: COMMAND_TIMEOUT_MS }, logger);
  const access = effectiveWebAccess(http);
  if (access === 'open' && !isLoopbackHost(http.host)) {
    logger.child({ module: 'web-access' }).warn({ host: http.host }, 'the live page is open on a network address: anyone who reaches it can switch outputs (http.web.access: login or read_only)');
  }
  const guard = new WebAccessGuard({ access, verifyPassword: (user, password) => parts.broker.verifyPassword(user, password) }, logger);
  const routes = [
    ...webPageRoutes(path.join(packageInfo().root, 'web'), guard),
    webStateRoute(view, guard),
    webEventsRoute(view, guard),
    webCommandRoute(commands, guard, { allowsPublish: (user, output) => parts.broker.allowsPublish(user, `web:${user}`, `${base}/${output}/set`) }),
  ];
  return { services: [view, commands], routes };
}
