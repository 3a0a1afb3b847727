import { describe, expect, it } from 'vitest';
import { openNodeDhtReader } from '../../../src/drivers/dht/node-dht-backend.js';
import { BackendUnavailableError, HardwareIoError } from '../../../src/drivers/errors.js';
import { createLogger } from '../../../src/util/logger.js';
import { ManualClock } from '../../../mocks/chips/clock.js';
import { FakeNodeDhtSensor } from '../../../mocks/dht/fake-node-dht-sensor.js';

function setup() {
  const clock = new ManualClock();
  const lib = new FakeNodeDhtSensor(clock);
  const open = () => openNodeDhtReader({ model: 'dht22', pin: 4, clock, load: async () => lib, boardModelPath: '/nonexistent' });
  return { clock, lib, open };
}

describe('node-dht-sensor backend', () => {
  it('a missing package is BackendUnavailableError', async () => {
    const load = async () => {
      throw new Error("Cannot find package 'node-dht-sensor'");
    };
    await expect(openNodeDhtReader({ model: 'dht22', pin: 4, load })).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('reads type 22 on the pin, at most once per 2 s', async () => {
    const { clock, lib, open } = setup();
    const reader = await open();
    expect(await reader.read()).toEqual({ temperature: 21.5, humidity: 45 });
    clock.advance(1999);
    expect(await reader.read()).toBeUndefined();
    expect(lib.calls).toEqual([{ type: 22, pin: 4 }]);
  });

  it("treats the library's cached value (asked again within its 3 s) as no new sample", async () => {
    const { clock, lib, open } = setup();
    const reader = await open();
    await reader.read();
    lib.set({ temperature: 22, humidity: 44 });
    clock.advance(2000);
    expect(await reader.read()).toBeUndefined(); // the library answered from its cache
    clock.advance(2000);
    expect(await reader.read()).toEqual({ temperature: 22, humidity: 44 });
  });

  it('a failed read is a HardwareIoError, and the next slot reads again', async () => {
    const { clock, lib, open } = setup();
    const reader = await open();
    lib.failNext();
    await expect(reader.read()).rejects.toBeInstanceOf(HardwareIoError);
    clock.advance(2000);
    expect(await reader.read()).toEqual({ temperature: 21.5, humidity: 45 });
  });

  it('"failed to initialize" (no BCM2835 registers, e.g. a Pi 5) is permanent: said once, pointing to the IIO overlay', async () => {
    const { clock, lib } = setup();
    const lines: { level: number; msg: string }[] = [];
    const logger = createLogger({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
    const reader = await openNodeDhtReader({ model: 'dht22', pin: 4, clock, logger, load: async () => lib, boardModelPath: '/nonexistent' });
    lib.cannotInitialize();
    for (let i = 0; i < 3; i++) {
      const error = await reader.read().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect((error as Error).message).toMatch(/failed to initialize.*dtoverlay=dht11,gpiopin=4.*backend: iio/);
      clock.advance(5000);
    }
    expect(lib.calls).toHaveLength(1);
    expect(lines.filter((l) => l.level >= 40 && /initialize/.test(l.msg))).toHaveLength(1);
  });
});
