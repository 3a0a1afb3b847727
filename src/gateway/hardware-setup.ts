import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { channelsOfKind } from '../drivers/channels.js';
import { createGpioController } from '../drivers/gpio/create-controller.js';
import { createSensorRegistry, realHardware, type HardwareContext, type SensorRegistry } from '../drivers/sensor-factory.js';
import type { GpioController, Sensor, SensorChannel } from '../drivers/types.js';
import type { Logger } from '../util/logger.js';
import type { HardwareSection, SensorSection } from './config/devices-schema.js';
import { sensorOptions } from './config/sensor-options.js';
import type { GatewayHardware } from './hardware.js';

/**
 * The Pi's own hardware: its GPIO (sysfs or the character device, as `settings.gpio_backend` says) and its buses.
 * Throws BackendUnavailableError where there is no Pi GPIO; the composition root decides what then (src/app).
 */
export async function openRealHardware(settings: HardwareSection, logger: Logger): Promise<GatewayHardware> {
  const gpio = await createGpioController({
    backend: settings.gpio_backend,
    logger,
    sysfsRoot: settings.sysfs_root,
    devRoot: settings.dev_root,
    chipBase: settings.gpio_chip_base,
  });
  const context = realHardware({ logger, sysfsRoot: settings.sysfs_root });
  const model = await boardModel(settings.sysfs_root);
  logger.child({ module: 'hardware' }).info({ model, gpio: gpio.backend }, 'hardware: real');
  return assemble('real', model, gpio, context, createSensorRegistry(), () => context.close());
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
