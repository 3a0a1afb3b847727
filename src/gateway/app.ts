import { createBroker, type EmbeddedBroker } from '../broker/index.js';
import type { Logger } from '../util/logger.js';
import { toBrokerOptions } from './config/broker-options.js';
import type { LoadedConfig } from './config/load.js';
import { Gateway } from './gateway.js';
import type { GatewayHardware } from './hardware.js';
import { channelsOf } from './hardware-setup.js';
import { openHardware } from '../app/hardware.js';

export interface RunningGateway {
  broker: EmbeddedBroker;
  gateway: Gateway;
  hardware: GatewayHardware;
  /** SIGHUP: password and ACL files. */
  reload(): Promise<unknown>;
  /** Gateway first (fail-safe outputs, `offline`), then the broker (persistence flushed), then the hardware. */
  stop(): Promise<void>;
}

/** The whole gateway in one process: embedded broker, hardware, and the gateway between them. */
export async function startGateway(loaded: LoadedConfig, logger: Logger, version: string, hardware?: GatewayHardware): Promise<RunningGateway> {
  const { config, baseDir } = loaded;
  const broker = createBroker(toBrokerOptions(config, baseDir, version), logger);
  await broker.start();
  let hw: GatewayHardware | undefined;
  let gateway: Gateway | undefined;
  try {
    hw = hardware ?? (await openHardware(config.hardware, logger));
    gateway = new Gateway(config, { bus: broker.bus('gateway'), hardware: hw, logger, version, channelsOf });
    await gateway.start();
    const running = hw;
    const started = gateway;
    return {
      broker,
      gateway: started,
      hardware: running,
      reload: () => broker.reload(),
      stop: async () => {
        await started.stop();
        await broker.stop();
        await running.close();
      },
    };
  } catch (error) {
    // A half-started gateway has timers and GPIO lines running: without this the process would not exit.
    await gateway?.stop().catch(() => undefined);
    await broker.stop().catch(() => undefined);
    await hw?.close().catch(() => undefined);
    throw error;
  }
}
