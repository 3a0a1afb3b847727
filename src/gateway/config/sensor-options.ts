import { SENSOR_OPTION_SCHEMAS } from '../../drivers/sensor-factory.js';
import type { SensorSection } from './devices-schema.js';

/** The driver registry's option names for a sensor section of the config (the config speaks snake_case). */
export function sensorOptions(spec: SensorSection): Record<string, unknown> {
  switch (spec.kind) {
    case 'bme280':
    case 'bmp280':
      return { bus: spec.bus, address: spec.address, oversampling: spec.oversampling };
    case 'sht3x':
    case 'bh1750':
      return { bus: spec.bus, address: spec.address };
    case 'ads1115':
      return { bus: spec.bus, address: spec.address, inputs: spec.inputs, fullScale: spec.gain };
    case 'dht22':
    case 'dht11':
      return { pin: spec.pin, backend: spec.backend === 'library' ? 'node-dht-sensor' : spec.backend, iioDevice: spec.iio_device };
    case 'ds18b20':
      return { deviceId: spec.device_id };
  }
}

const DRIVER_SCHEMA = {
  bme280: SENSOR_OPTION_SCHEMAS.bme280,
  bmp280: SENSOR_OPTION_SCHEMAS.bme280,
  sht3x: SENSOR_OPTION_SCHEMAS.sht3x,
  bh1750: SENSOR_OPTION_SCHEMAS.bh1750,
  ads1115: SENSOR_OPTION_SCHEMAS.ads1115,
  dht22: SENSOR_OPTION_SCHEMAS.dht,
  dht11: SENSOR_OPTION_SCHEMAS.dht,
  ds18b20: SENSOR_OPTION_SCHEMAS.ds18b20,
} as const;

/**
 * What the driver would refuse in a section the config schema accepted, as messages. The driver's schema is the
 * last word: a config that passes `check` must not fail in the driver on every read.
 */
export function driverOptionProblems(spec: SensorSection): string[] {
  const result = DRIVER_SCHEMA[spec.kind].safeParse(sensorOptions(spec));
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.') || spec.kind}: ${issue.message}`);
}
