import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/app/config/errors.js';
import { inputSchema, outputSchema, sensorSchema } from '../../../src/gateway/config/devices-schema.js';
import { parseConfig } from '../../../src/app/config/load.js';
import { channelsOf } from '../../../src/gateway/hardware-setup.js';
import { driverOptionProblems, sensorOptions } from '../../../src/gateway/config/sensor-options.js';
import { SENSOR_OPTION_SCHEMAS } from '../../../src/drivers/sensor-factory.js';

function problems(text: string): { key: string; message: string }[] {
  try {
    parseConfig(text, 'devices.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map(({ key, message }) => ({ key, message }));
  }
  throw new Error('the config was accepted');
}

describe('sensor sections', () => {
  it.each([
    ['bme280', { address: 0x76, bus: 1, oversampling: { temperature: 1, pressure: 1, humidity: 1 } }],
    ['bmp280', { address: 0x76 }],
    ['sht3x', { address: 0x44 }],
    ['bh1750', { address: 0x23 }],
    ['ads1115', { address: 0x48, gain: 4.096, inputs: [0] }],
    ['dht22', { pin: 4, backend: 'auto', interval: 30_000 }],
    ['dht11', { pin: 4 }],
    ['ds18b20', {}],
  ])('%s: fills the defaults', (kind, expected) => {
    const spec = sensorSchema.parse({ kind, name: 'probe', ...(kind.startsWith('dht') ? { pin: 4 } : {}) });
    expect(spec).toMatchObject({ kind, name: 'probe', interval: 30_000, retries: 2, offline_after: 3, filters: {}, channels: {}, ...expected });
  });

  it('refuses an unknown kind, and keys of another kind', () => {
    expect(sensorSchema.safeParse({ kind: 'bme680', name: 'x' }).success).toBe(false);
    expect(sensorSchema.safeParse({ kind: 'sht3x', name: 'x', pin: 4 }).success).toBe(false);
    // the BME280 answers at 0x76 or 0x77 only: anything else would pass here and fail in the driver forever
    expect(sensorSchema.safeParse({ kind: 'bme280', name: 'x', address: 0x44 }).success).toBe(false);
    expect(sensorSchema.safeParse({ kind: 'bme280', name: 'x', address: 0x77 }).success).toBe(true);
    expect(sensorSchema.safeParse({ kind: 'sht3x', name: 'x', address: 0x76 }).success).toBe(false);
  });

  it.each([
    ['5s', 5000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['2min', 120_000],
    ['1h', 3_600_000],
    [10, 10_000],
    [0.25, 250],
  ])('interval %j is %d ms', (interval, ms) => {
    expect(sensorSchema.parse({ kind: 'bme280', name: 'x', interval }).interval).toBe(ms);
  });

  it.each([['5'], ['5 sec'], ['fast'], [-1], [0]])('refuses the interval %j', (interval) => {
    expect(sensorSchema.safeParse({ kind: 'bme280', name: 'x', interval }).success).toBe(false);
  });

  it('refuses a DHT read more often than every 2 s, with the reason', () => {
    const result = sensorSchema.safeParse({ kind: 'dht22', name: 'porch', pin: 4, interval: '1s' });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.message).toMatch(/2 s/);
    expect(sensorSchema.parse({ kind: 'dht11', name: 'porch', pin: 4, interval: '2s' }).interval).toBe(2000);
    // Other kinds may be fast.
    expect(sensorSchema.parse({ kind: 'sht3x', name: 'air', interval: '200ms' }).interval).toBe(200);
  });

  it('checks filters at config time, with the channel and index', () => {
    const bad = problems('sensors:\n  - kind: bme280\n    name: climate\n    filters:\n      temperature: [{ round: 1 }, { bogus: 3 }]\n');
    expect(bad).toHaveLength(1);
    expect(bad[0]!.key).toBe('sensors[0].filters.temperature[1]');
  });

  it('refuses names that cannot be a topic level', () => {
    for (const name of ['living room', 'a/b', 'x+', '#', '']) {
      expect(sensorSchema.safeParse({ kind: 'bme280', name }).success, name).toBe(false);
    }
  });
});

describe('inputs and outputs', () => {
  it('fill their defaults', () => {
    expect(inputSchema.parse({ name: 'button', pin: 17 })).toEqual({
      name: 'button',
      pin: 17,
      pull: 'up',
      edge: 'both',
      debounce: 50,
      active_low: false,
      payload_on: 'ON',
      payload_off: 'OFF',
    });
    expect(outputSchema.parse({ name: 'led', pin: 27 })).toEqual({
      name: 'led',
      pin: 27,
      active_low: false,
      initial: 'off',
      fail_safe: 'off',
      retain: true,
      component: 'switch',
    });
  });

  it('refuses pins that are not BCM GPIOs', () => {
    for (const pin of [-1, 28, 40, 1.5]) expect(outputSchema.safeParse({ name: 'led', pin }).success, String(pin)).toBe(false);
  });

  it.each(['id', 'timestamp', 'expires'])('refuses an output named %s (a key of the command topic)', (name) => {
    const result = outputSchema.safeParse({ name, pin: 27 });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.message).toMatch(/reserved/);
    // An input or a sensor may use the name: it never appears in a command.
    expect(inputSchema.safeParse({ name, pin: 17 }).success).toBe(true);
  });
});

describe('the devices of one config together', () => {
  it('refuses a name used twice, across sensors, inputs and outputs', () => {
    const found = problems(`sensors:
  - { kind: bme280, name: climate }
  - { kind: sht3x, name: climate }
inputs:
  - { name: led, pin: 17 }
outputs:
  - { name: led, pin: 27 }
`);
    expect(found).toEqual([
      { key: 'sensors[1].name', message: '"climate" is already used by sensors[0]' },
      { key: 'outputs[0].name', message: '"led" is already used by inputs[0]' },
    ]);
  });

  it('refuses a GPIO used twice by inputs and outputs', () => {
    const found = problems(`inputs:
  - { name: button, pin: 17 }
outputs:
  - { name: led, pin: 27 }
  - { name: relay, pin: 17 }
`);
    expect(found).toEqual([{ key: 'outputs[1].pin', message: 'GPIO17 is already used by inputs[0]' }]);
  });

  it('accepts the demo devices', () => {
    const config = parseConfig(
      'sensors:\n  - { kind: bme280, name: climate, interval: 5s }\n  - { kind: dht22, name: porch, pin: 4, interval: 5s }\ninputs:\n  - { name: button, pin: 17 }\noutputs:\n  - { name: led, pin: 27 }\n',
      'ok.yaml',
    );
    expect(config.sensors.map((s) => s.interval)).toEqual([5000, 5000]);
  });
});

describe('sensor sections to driver options', () => {
  it('maps every kind to options its driver schema accepts', () => {
    const dhtSchema = SENSOR_OPTION_SCHEMAS.dht;
    for (const [backend, driverBackend] of [
      ['auto', 'auto'],
      ['library', 'node-dht-sensor'],
      ['iio', 'iio'],
    ] as const) {
      const options = sensorOptions(sensorSchema.parse({ kind: 'dht22', name: 'porch', pin: 4, backend }));
      expect(options.backend, backend).toBe(driverBackend);
      expect(dhtSchema.safeParse(options).success).toBe(true);
    }
    expect(SENSOR_OPTION_SCHEMAS.bme280.safeParse(sensorOptions(sensorSchema.parse({ kind: 'bme280', name: 'c' }))).success).toBe(true);
    expect(SENSOR_OPTION_SCHEMAS.ads1115.parse(sensorOptions(sensorSchema.parse({ kind: 'ads1115', name: 'adc', inputs: [0, 3], gain: 2.048 })))).toMatchObject({
      inputs: [0, 3],
      fullScale: 2.048,
    });
  });

  it('knows the channels of every kind without opening it', () => {
    expect(channelsOf(sensorSchema.parse({ kind: 'ads1115', name: 'adc', inputs: [1, 2] })).map((c) => c.key)).toEqual(['voltage_1', 'voltage_2']);
    expect(channelsOf(sensorSchema.parse({ kind: 'bme280', name: 'c' })).map((c) => c.key)).toEqual(['temperature', 'pressure', 'humidity']);
  });
});

describe('driverOptionProblems', () => {
  it('reports what the driver would refuse in a section, so such a config never passes check', () => {
    const valid = sensorSchema.parse({ kind: 'bme280', name: 'c' });
    expect(driverOptionProblems(valid)).toEqual([]);
    // A section the config schema would not produce (address outside the BME280's two): the driver says no.
    const problems = driverOptionProblems({ ...valid, address: 0x44 } as typeof valid);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^address: address must be one of 0x76, 0x77/);
  });
});
