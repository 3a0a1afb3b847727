import { Histogram, type Registry } from 'prom-client';
import type { SensorReadTimes } from '../../gateway/gateway.js';
import type { SensorCounters } from '../../gateway/sensors/sensor-runner.js';
import { collectedCounter, collectedGauge } from './collected.js';

/**
 * From an I2C chip's few milliseconds through a DHT's bit-banged frame to a DS18B20's 750 ms conversion, and a
 * read that runs into a bus timeout.
 */
const READ_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function registerSensorMetrics(registry: Registry, prefix: string, sensorCounters: () => Record<string, Readonly<SensorCounters>>): SensorReadTimes {
  const p = `${prefix}sensor_`;
  const each = (read: (c: Readonly<SensorCounters>) => number | undefined) =>
    Object.entries(sensorCounters()).flatMap(([sensor, counters]): [{ sensor: string }, number][] => {
      const value = read(counters);
      return value === undefined ? [] : [[{ sensor }, value]];
    });
  collectedCounter(registry, `${p}reads_total`, 'Reads of the device that returned', ['sensor'], () => each((c) => c.reads));
  collectedCounter(registry, `${p}read_errors_total`, 'Reads of the device that failed (each retry counts)', ['sensor'], () => each((c) => c.errors));
  collectedGauge(registry, `${p}online`, '1 online, 0 offline after offline_after failed reads; absent before the first read', ['sensor'], () =>
    each((c) => (c.online === undefined ? undefined : c.online ? 1 : 0)),
  );
  // Durations exist nowhere else: they are observed here, once per read.
  const histogram = new Histogram<'sensor'>({
    name: `${p}read_duration_seconds`,
    help: 'Time a read of the device took, failed reads included',
    labelNames: ['sensor'],
    buckets: READ_BUCKETS_SECONDS,
    registers: [registry],
  });
  return { observe: (sensor, seconds) => histogram.observe({ sensor }, seconds) };
}
