import type { SensorChannel } from './types.js';

/** What each sensor kind measures: the one table the drivers and the gateway's discovery both read. */
export const TEMPERATURE: SensorChannel = { key: 'temperature', unit: '°C', deviceClass: 'temperature' };
const HUMIDITY: SensorChannel = { key: 'humidity', unit: '%', deviceClass: 'humidity' };
const PRESSURE: SensorChannel = { key: 'pressure', unit: 'hPa', deviceClass: 'atmospheric_pressure' };
export const ILLUMINANCE: SensorChannel = { key: 'illuminance', unit: 'lx', deviceClass: 'illuminance' };

export function voltageChannel(input: number): SensorChannel {
  return { key: `voltage_${input}`, unit: 'V', deviceClass: 'voltage' };
}

/** Channels of a sensor kind before it is opened (`inputs`: the ADS1115's configured inputs). */
export function channelsOfKind(kind: string, inputs: readonly number[] = [0]): readonly SensorChannel[] {
  switch (kind) {
    case 'bme280':
      return [TEMPERATURE, PRESSURE, HUMIDITY];
    case 'bmp280':
      return [TEMPERATURE, PRESSURE];
    case 'sht3x':
    case 'dht22':
    case 'dht11':
      return [TEMPERATURE, HUMIDITY];
    case 'bh1750':
      return [ILLUMINANCE];
    case 'ads1115':
      return inputs.map(voltageChannel);
    case 'ds18b20':
      return [TEMPERATURE];
    default:
      return [];
  }
}
