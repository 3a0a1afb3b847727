import path from 'node:path';
import type { EmbeddedBroker } from '../broker/broker.js';
import { BRIDGE_ORIGIN_PREFIX, CloudBridge } from '../bridge/bridge.js';
import { BridgeSet } from '../bridge/bridge-set.js';
import { openBridgeQueue } from '../bridge/open-queue.js';
import { createBroker } from '../broker/create-broker.js';
import { toBrokerOptions } from '../broker/config.js';
import { Gateway } from '../gateway/gateway.js';
import type { GatewayHardware } from '../gateway/hardware.js';
import { channelsOf } from '../gateway/hardware-setup.js';
import type { HttpServer } from '../http/server.js';
import type { Logger } from '../util/logger.js';
import type { RecentWarnings } from '../web/recent-warnings.js';
import { loadConfigFile, type LoadedConfig } from './config/load.js';
import { HardwareService, openHardware } from './hardware.js';
import { Lifecycle } from './lifecycle.js';
import { createMetrics, operationsServices } from './operations.js';
import type { Service } from './service.js';

/** `run`: broker, bridges and gateway; `broker`: the broker and its bridges (mosquitto's job). */
export type ApplicationMode = 'run' | 'broker';

export interface ApplicationOptions {
  mode: ApplicationMode;
  logger: Logger;
  version: string;
  /** Hardware the caller built (tests drive the simulation through it); by default the composition root chooses. */
  hardware?: GatewayHardware;
  /** Where the logger also sends its warnings (createLogger's `warnings`): the live page lists the recent ones. */
  warnings?: RecentWarnings;
}

/** The running application: its services, in start order, under one lifecycle. */
export interface Application {
  readonly lifecycle: Lifecycle;
  readonly broker: EmbeddedBroker;
  /** Undefined in `broker` mode. */
  readonly gateway: Gateway | undefined;
  start(): Promise<void>;
  /** Reverse order: HTTP and the health topic, the gateway (outputs fail-safe, `offline` published), the hardware, the bridges, the broker. */
  stop(): Promise<void>;
  readonly bridges: BridgeSet;
  /** The server of /healthz and /metrics; undefined without an `http:` section. */
  readonly http: HttpServer | undefined;
  /** SIGHUP: the broker's password and ACL files, and the config file's `bridges:` (changed ones reconnect). */
  reload(): Promise<void>;
}

/**
 * The one composition root: builds every service from the config and wires them, the broker first because every
 * other service talks through it (the local bus). Nothing else in src/ constructs services or loads mocks/.
 */
function buildApplication(loaded: LoadedConfig, options: ApplicationOptions): Application {
  const { config, baseDir } = loaded;
  const { logger, version } = options;
  const broker = createBroker(toBrokerOptions(config.broker, { id: config.gateway.id, stateDir: config.gateway.state_dir, baseDir, version }), logger);
  const services: Service[] = [broker];
  // Bridges run in both modes, as mosquitto's do; they start before the gateway and stop after it, so its last
  // words (`offline`) still reach the cloud.
  const stateDir = path.resolve(baseDir, config.gateway.state_dir);
  const bridges = new BridgeSet(
    config.bridges,
    (section) =>
      new CloudBridge(section, {
        bus: broker.bus(`${BRIDGE_ORIGIN_PREFIX}${section.connection}`),
        openQueue: (bridge) => openBridgeQueue(bridge, stateDir, logger),
        gatewayId: config.gateway.id,
        sysIntervalSeconds: config.broker.sys_interval,
        baseDir,
        logger,
      }),
    logger,
  );
  services.push(bridges);
  let gateway: Gateway | undefined;
  const metrics = createMetrics(config, { broker, bridges, gateway: () => gateway });
  if (options.mode === 'run') {
    const given = options.hardware;
    const hardware = new HardwareService(given ? async () => given : () => openHardware(config.hardware, logger));
    gateway = new Gateway(config, { bus: broker.bus('gateway'), hardware, logger, version, channelsOf, readTimes: metrics?.readTimes });
    services.push(hardware, gateway);
  }
  // Last to start, first to stop: their first look sees every other service running.
  const operations = operationsServices(config, options.mode, { broker, bridges, gateway: () => gateway, health: () => lifecycle.health(), warnings: options.warnings }, metrics, logger);
  services.push(...operations.services);
  const lifecycle = new Lifecycle(services, logger);
  return {
    lifecycle,
    broker,
    bridges,
    gateway,
    http: operations.http,
    start: () => lifecycle.start(),
    stop: () => lifecycle.stop(),
    reload: async () => {
      await lifecycle.reload();
      // Bridges come from the config file read again; a broken file keeps the running ones, and says why.
      const fresh = await loadConfigFile(loaded.file).catch((error: unknown) => {
        logger.error({ err: error instanceof Error ? error.message : error }, 'config not reloaded: bridges unchanged');
        return undefined;
      });
      if (fresh) await bridges.apply(fresh.config.bridges);
    },
  };
}

/** Builds and starts the application; a failed start has stopped whatever it had started. */
export async function startApplication(loaded: LoadedConfig, options: ApplicationOptions): Promise<Application> {
  const application = buildApplication(loaded, options);
  await application.start();
  return application;
}
