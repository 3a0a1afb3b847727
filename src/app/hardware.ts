import { BackendUnavailableError } from '../drivers/errors.js';
import type { HardwareSection } from '../gateway/config/devices-schema.js';
import type { GatewayHardware } from '../gateway/hardware.js';
import { openRealHardware, simulatedGatewayHardware } from '../gateway/hardware-setup.js';
import type { Logger } from '../util/logger.js';

/**
 * Real hardware when the Pi's GPIO is there (or `mode: real` insists), the simulation of mocks/ otherwise. The
 * choice is logged: a gateway that silently simulates on a real Pi would be a nasty surprise. The only place that
 * loads mocks/, and only when it simulates, so a production start never pulls it in.
 */
export async function openHardware(settings: HardwareSection, logger: Logger): Promise<GatewayHardware> {
  const log = logger.child({ module: 'hardware' });
  if (settings.mode === 'simulated') {
    log.info('hardware: simulated (hardware.mode: simulated)');
    return openSimulatedHardware(settings, logger);
  }
  try {
    return await openRealHardware(settings, logger);
  } catch (error) {
    if (settings.mode === 'real' || !(error instanceof BackendUnavailableError)) throw error;
    log.warn({ reason: error.message }, 'no Raspberry Pi GPIO found: running on SIMULATED hardware (set hardware.mode: real to refuse)');
    return openSimulatedHardware(settings, logger);
  }
}

async function openSimulatedHardware(settings: HardwareSection, logger: Logger): Promise<GatewayHardware> {
  const [{ createSimulatedHardware }, { createSimulatedGpio }] = await Promise.all([
    import('../../mocks/chips/simulated-hardware.js'),
    import('../../mocks/gpio/simulated-gpio.js'),
  ]);
  const context = await createSimulatedHardware({ seed: settings.simulation_seed, logger });
  return simulatedGatewayHardware(context, createSimulatedGpio({ logger }));
}

/**
 * The hardware as a service: opened at start (real or simulated, as above), closed at stop, after the gateway has put
 * its outputs in their fail-safe state. It is the gateway's GatewayHardware from construction on; the parts exist
 * once started.
 */
export class HardwareService implements GatewayHardware {
  readonly name = 'hardware';
  private opened: GatewayHardware | undefined;

  constructor(private readonly open: () => Promise<GatewayHardware>) {}

  async start(): Promise<void> {
    this.opened = await this.open();
  }

  async stop(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    await opened?.close();
  }

  health(): { status: 'ok' | 'failed'; detail: Record<string, unknown> } {
    return this.opened ? { status: 'ok', detail: { kind: this.opened.kind, model: this.opened.model } } : { status: 'failed', detail: { open: false } };
  }

  get kind(): GatewayHardware['kind'] {
    return this.parts().kind;
  }

  get model(): string {
    return this.parts().model;
  }

  get gpio(): GatewayHardware['gpio'] {
    return this.parts().gpio;
  }

  openSensor(spec: Parameters<GatewayHardware['openSensor']>[0]): ReturnType<GatewayHardware['openSensor']> {
    return this.parts().openSensor(spec);
  }

  close(): Promise<void> {
    return this.stop();
  }

  private parts(): GatewayHardware {
    if (!this.opened) throw new Error('hardware not started');
    return this.opened;
  }
}
