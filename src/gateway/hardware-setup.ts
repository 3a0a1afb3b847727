import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BackendUnavailableError } from '../drivers/errors.js';
import { channelsOfKind } from '../drivers/channels.js';
import { createGpioController } from '../drivers/gpio/index.js';
import { createSensorRegistry, realHardware, type HardwareContext, type SensorRegistry } from '../drivers/sensor-factory.js';
import type { GpioController, Sensor, SensorChannel } from '../drivers/types.js';
import type { Logger } from '../util/logger.js';
import type { HardwareSection, SensorSection } from './config/devices-schema.js';
import { sensorOptions } from './config/sensor-options.js';
import type { GatewayHardware } from './hardware.js';

/**
 * Real hardware when the Pi's GPIO is there (or `mode: real` insists), the simulation of mocks/ otherwise. The
 * choice is logged: a gateway that silently simulates on a real Pi would be a nasty surprise.
 */
export async function setUpHardware(settings: HardwareSection, logger: Logger): Promise<GatewayHardware> {
  const log = logger.child({ module: 'hardware' });
  if (settings.mode === 'simulated') {
    log.info('hardware: simulated (hardware.mode: simulated)');
    return simulatedHardware(settings, logger);
  }
  let gpio: GpioController;
  try {
    gpio = await createGpioController({
      backend: settings.gpio_backend,
      logger,
      sysfsRoot: settings.sysfs_root,
      devRoot: settings.dev_root,
      chipBase: settings.gpio_chip_base,
    });
  } catch (error) {
    if (settings.mode === 'real' || !(error instanceof BackendUnavailableError)) throw error;
    log.warn({ reason: error.message }, 'no Raspberry Pi GPIO found: running on SIMULATED hardware (set hardware.mode: real to refuse)');
    return simulatedHardware(settings, logger);
  }
  const context = realHardware({ logger, sysfsRoot: settings.sysfs_root });
  const model = await boardModel(settings.sysfs_root);
  log.info({ model, gpio: gpio.backend }, 'hardware: real');
  return assemble('real', model, gpio, context, createSensorRegistry(), () => context.close());
}

async function simulatedHardware(settings: HardwareSection, logger: Logger): Promise<GatewayHardware> {
  // The simulation is loaded only when used, so a production start never pulls it in.
  const [{ createSimulatedHardware }, { createSimulatedGpio }] = await Promise.all([
    import('../../mocks/chips/simulated-hardware.js'),
    import('../../mocks/gpio/index.js'),
  ]);
  const context = await createSimulatedHardware({ seed: settings.simulation_seed, logger });
  const gpio = createSimulatedGpio({ logger });
  return simulatedGatewayHardware(context, gpio);
}

/**
 * GatewayHardware over simulation parts the caller built and keeps (tests inject faults into the chips and drive
 * pins through them). Closing it closes the GPIO controller and the context.
 */
export function simulatedGatewayHardware(
  context: HardwareContext & { close(): Promise<void> },
  gpio: GpioController,
): GatewayHardware & { context: HardwareContext } {
  return assemble('simulated', 'simulated Raspberry Pi', gpio, context, createSensorRegistry(), () => context.close());
}

function assemble(
  kind: 'real' | 'simulated',
  model: string,
  gpio: GpioController,
  context: HardwareContext,
  registry: SensorRegistry,
  close: () => Promise<void>,
): GatewayHardware & { context: HardwareContext } {
  return {
    kind,
    model,
    gpio,
    context,
    openSensor: (spec) => registry.create(spec.kind, sensorOptions(spec), context) as Promise<Sensor>,
    close: async () => {
      await gpio.close();
      await close();
    },
  };
}

/** What a sensor kind measures, for Home Assistant discovery of a sensor that could not be opened at start. */
export function channelsOf(spec: SensorSection): readonly SensorChannel[] {
  return channelsOfKind(spec.kind, spec.kind === 'ads1115' ? spec.inputs : undefined);
}

/** "Raspberry Pi 4 Model B Rev 1.5" from the device tree, or a generic name elsewhere. */
async function boardModel(sysfsRoot: string): Promise<string> {
  const candidates = [path.join(path.dirname(sysfsRoot), 'proc/device-tree/model'), '/proc/device-tree/model'];
  for (const file of candidates) {
    try {
      return (await readFile(file, 'utf8')).replace(/\0/g, '').trim();
    } catch {
      // next candidate
    }
  }
  return 'Raspberry Pi';
}
