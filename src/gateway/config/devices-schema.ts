import { z } from 'zod';
import { buildPipeline } from '../filters/build.js';
import type { FilterSpec } from '../filters/types.js';
import { RESERVED_COMMAND_KEYS } from '../commands/parse.js';
import { durationMs } from '../../util/duration.js';
import { driverOptionProblems } from './sensor-options.js';

const deviceName = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only (it becomes an MQTT topic level and a Home Assistant id)');
const bcmPin = z.number().int().min(0).max(27).describe('BCM GPIO number (GPIO17 is 17, physical pin 11)');

/** Per-channel filter lists, checked by building them so a bad filter is reported at config time with its path. */
const channelFilters = z
  .record(z.string(), z.array(z.custom<FilterSpec>()))
  .default({})
  .superRefine((filters, ctx) => {
    for (const [channel, specs] of Object.entries(filters)) {
      try {
        buildPipeline(specs);
      } catch (error) {
        const index = (error as { index?: number }).index ?? 0;
        ctx.addIssue({ code: 'custom', path: [channel, index], message: (error as Error).message });
      }
    }
  })
  .describe('Filters per channel, e.g. temperature: [{ round: 1 }, { delta: 0.1 }]');

const channelOverrides = z
  .record(
    z.string(),
    z.strictObject({
      name: z.string().min(1).optional(),
      device_class: z.string().min(1).optional(),
      unit: z.string().min(1).optional(),
      icon: z.string().min(1).optional(),
    }),
  )
  .default({})
  .describe('Home Assistant presentation per channel');

const sensorCommon = {
  name: deviceName.describe('Device name: topics <base>/<name>/state'),
  friendly_name: z.string().min(1).optional(),
  interval: durationMs.prefault(30).describe('How often to read it'),
  retries: z.number().int().min(0).max(10).default(2).describe('Retries of a failed read within one interval'),
  offline_after: z.number().int().min(1).default(3).describe('Failed reads in a row before the sensor is marked offline'),
  filters: channelFilters,
  channels: channelOverrides,
};

const oversampling = z.literal([1, 2, 4, 8, 16]);

const bme280Sensor = z.strictObject({
  kind: z.enum(['bme280', 'bmp280']),
  ...sensorCommon,
  bus: z.number().int().min(0).default(1),
  address: z.literal([0x76, 0x77]).default(0x76).describe('0x76 (SDO to GND) or 0x77 (SDO to VDDIO)'),
  oversampling: z
    .strictObject({ temperature: oversampling.default(1), pressure: oversampling.default(1), humidity: oversampling.default(1) })
    .prefault({}),
});

const sht3xSensor = z.strictObject({
  kind: z.literal('sht3x'),
  ...sensorCommon,
  bus: z.number().int().min(0).default(1),
  address: z.literal([0x44, 0x45]).default(0x44),
});

const bh1750Sensor = z.strictObject({
  kind: z.literal('bh1750'),
  ...sensorCommon,
  bus: z.number().int().min(0).default(1),
  address: z.literal([0x23, 0x5c]).default(0x23),
});

const ads1115Sensor = z.strictObject({
  kind: z.literal('ads1115'),
  ...sensorCommon,
  bus: z.number().int().min(0).default(1),
  address: z.literal([0x48, 0x49, 0x4a, 0x4b]).default(0x48),
  gain: z
    .union([z.literal(6.144), z.literal(4.096), z.literal(2.048), z.literal(1.024), z.literal(0.512), z.literal(0.256)])
    .default(4.096)
    .describe('Full-scale range in volts'),
  inputs: z.array(z.number().int().min(0).max(3)).min(1).max(4).default([0]).describe('Single-ended inputs AIN0..AIN3 to read'),
});

const dhtSensor = z.strictObject({
  kind: z.enum(['dht22', 'dht11']),
  ...sensorCommon,
  interval: durationMs.refine((ms) => ms >= 2000, 'DHT sensors cannot be read more often than every 2 s').prefault(30),
  pin: bcmPin,
  backend: z
    .enum(['auto', 'library', 'iio'])
    .default('auto')
    .describe('library: node-dht-sensor; iio: the kernel dht11 overlay (Pi 5, Trixie); auto: iio when present'),
  iio_device: z.string().min(1).optional().describe('e.g. iio:device0; default: the first device named dht11'),
});

const ds18b20Sensor = z.strictObject({
  kind: z.literal('ds18b20'),
  ...sensorCommon,
  device_id: z
    .string()
    .regex(/^28-[0-9a-f]{12}$/i, 'a 1-Wire id such as 28-0000075565ef')
    .optional()
    .describe('Default: the only DS18B20 on the bus'),
});

export const sensorSchema = z
  .discriminatedUnion('kind', [bme280Sensor, sht3xSensor, bh1750Sensor, ads1115Sensor, dhtSensor, ds18b20Sensor])
  .superRefine((spec, ctx) => {
    for (const message of driverOptionProblems(spec)) ctx.addIssue({ code: 'custom', message: `the ${spec.kind} driver refuses ${message}` });
  });

export const inputSchema = z.strictObject({
  name: deviceName,
  friendly_name: z.string().min(1).optional(),
  pin: bcmPin,
  pull: z.enum(['up', 'down', 'none']).default('up'),
  edge: z.enum(['rising', 'falling', 'both']).default('both'),
  debounce: durationMs.prefault('50ms'),
  active_low: z.boolean().default(false).describe('True for a button wired to ground with a pull-up: pressed reads ON'),
  payload_on: z.string().min(1).default('ON'),
  payload_off: z.string().min(1).default('OFF'),
  device_class: z.string().min(1).optional().describe('Home Assistant binary_sensor class: motion, door, window, occupancy...'),
});

export const outputSchema = z.strictObject({
  name: deviceName.refine((n) => !RESERVED_COMMAND_KEYS.includes(n), `reserved by the command topic (${RESERVED_COMMAND_KEYS.join(', ')})`),
  friendly_name: z.string().min(1).optional(),
  pin: bcmPin,
  active_low: z.boolean().default(false).describe('For relay boards that switch on a low level'),
  initial: z.enum(['off', 'on']).default('off').describe('Level set at start when the pin is not already an output'),
  fail_safe: z.enum(['off', 'on', 'keep']).default('off').describe('Level set on shutdown'),
  retain: z.boolean().default(true),
  component: z.enum(['switch', 'light']).default('switch').describe('How Home Assistant shows it'),
  device_class: z.enum(['outlet', 'switch']).optional(),
});

export const hardwareSchema = z.strictObject({
  mode: z
    .enum(['auto', 'real', 'simulated'])
    .default('auto')
    .describe('simulated: the mocks/ hardware; auto: real hardware when present, simulated otherwise (logged)'),
  gpio_backend: z.enum(['auto', 'sysfs', 'chardev']).default('auto'),
  gpio_chip_base: z.number().int().min(0).optional().describe('Override the sysfs GPIO base (512 on a Pi 4 with kernel 6.6)'),
  sysfs_root: z.string().min(1).default('/sys'),
  dev_root: z.string().min(1).default('/dev'),
  simulation_seed: z.number().int().optional().describe('Seed of the simulated values, for repeatable runs'),
});

export const publishSchema = z.strictObject({
  qos: z.literal([0, 1, 2]).default(1),
  retain: z.boolean().default(true),
});

export const commandsSchema = z.strictObject({
  max_age: durationMs.prefault(60).describe('Commands whose timestamp is older are refused'),
  require_timestamp: z.boolean().default(false),
});

export const homeAssistantSchema = z.strictObject({
  enabled: z.boolean().default(true),
  discovery_prefix: z.string().min(1).default('homeassistant'),
  status_topic: z.string().min(1).default('homeassistant/status'),
  legacy_object_id: z.boolean().default(false).describe('Also send object_id, for Home Assistant before 2025.10'),
  model: z.string().min(1).optional().describe('Device model; default: /proc/device-tree/model'),
});

export type SensorSection = z.infer<typeof sensorSchema>;
export type InputSection = z.infer<typeof inputSchema>;
export type OutputSection = z.infer<typeof outputSchema>;
export type HardwareSection = z.infer<typeof hardwareSchema>;
