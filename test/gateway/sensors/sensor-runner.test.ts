import { describe, expect, it } from 'vitest';
import { DeviceNotPresentError, HardwareIoError } from '../../../src/drivers/errors.js';
import type { Sensor } from '../../../src/drivers/types.js';
import { DeviceFilters } from '../../../src/gateway/filters/device-filters.js';
import type { FilterSpec } from '../../../src/gateway/filters/types.js';
import { SensorRunner } from '../../../src/gateway/sensors/sensor-runner.js';
import { silentLogger } from '../../../src/util/logger.js';
import { ManualClock } from '../../../mocks/chips/clock.js';

/**
 * ManualClock's time line, for a runner whose work is asynchronous: advance() lets the promises each timer starts
 * settle before the next one, and sleep() waits for the clock rather than moving it.
 */
class FakeClock extends ManualClock {
  constructor() {
    super(1_700_000_000_000);
  }

  override async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await flush();
    while (this.runNextDue(end)) await flush();
    this.time = end;
  }

  /** A promise resolved by this clock after `ms`. */
  override sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

type Step = Record<string, number> | undefined | Error;

/** A sensor that answers from a script (the last step repeats), optionally taking `readMs` of clock time. */
class ScriptedSensor implements Sensor {
  readonly kind = 'fake';
  readonly channels = [{ key: 'temperature', unit: '°C' }];
  reads: number[] = [];
  inFlight = 0;
  maxInFlight = 0;
  closed = 0;

  constructor(
    private readonly clock: FakeClock,
    private readonly steps: Step[],
    private readonly readMs = 0,
  ) {}

  async read(): Promise<Record<string, number> | undefined> {
    this.reads.push(this.clock.now());
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.readMs > 0) await this.clock.sleep(this.readMs);
      const step = this.steps.length > 1 ? this.steps.shift() : this.steps[0];
      if (step instanceof Error) throw step;
      return step;
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    this.closed++;
  }
}

interface Harness {
  clock: FakeClock;
  runner: SensorRunner;
  states: { state: Record<string, number>; at: number }[];
  availability: { online: boolean; reason?: string; at: number }[];
  opens: number;
}

function harness(
  sensor: (clock: FakeClock) => Sensor,
  options: { intervalMs?: number; retries?: number; offlineAfter?: number; filters?: Record<string, FilterSpec[]> } = {},
): Harness {
  const clock = new FakeClock();
  const h: Harness = { clock, states: [], availability: [], opens: 0 } as unknown as Harness;
  const instance = sensor(clock);
  h.runner = new SensorRunner({
    name: 'probe',
    open: async () => {
      h.opens++;
      return instance;
    },
    intervalMs: options.intervalMs ?? 1000,
    retries: options.retries ?? 0,
    offlineAfter: options.offlineAfter ?? 3,
    filters: new DeviceFilters(options.filters ?? {}),
    clock,
    logger: silentLogger(),
    onState: (state, at) => h.states.push({ state, at }),
    onAvailability: (online, reason) => h.availability.push({ online, reason, at: clock.now() }),
  });
  return h;
}

const ioError = (message = 'EIO') => new HardwareIoError('fake', message);
const t = (value: number) => ({ temperature: value });

describe('SensorRunner', () => {
  it('reads on its interval after the start delay, publishes filtered states and goes online', async () => {
    let sensor!: ScriptedSensor;
    const h = harness((clock) => (sensor = new ScriptedSensor(clock, [t(20.04), t(20.16), t(20.26)])), {
      filters: { temperature: [{ round: 1 }] },
    });
    const t0 = h.clock.now();
    h.runner.start(50);
    await h.clock.advance(49);
    expect(sensor.reads).toEqual([]);
    await h.clock.advance(1);
    expect(sensor.reads).toEqual([t0 + 50]);
    await h.clock.advance(2000);
    expect(sensor.reads).toEqual([t0 + 50, t0 + 1050, t0 + 2050]);
    expect(h.states.map((s) => s.state)).toEqual([t(20), t(20.2), t(20.3)]);
    expect(h.states.map((s) => s.at)).toEqual([t0 + 50, t0 + 1050, t0 + 2050]);
    expect(h.availability).toEqual([{ online: true, reason: undefined, at: t0 + 50 }]);
    expect(h.runner.counters).toMatchObject({ reads: 3, errors: 0, online: true });
    await h.runner.stop();
    expect(sensor.closed).toBe(1);
    expect(h.clock.pending).toBe(0);
  });

  it('retries a failed read with exponential backoff within the cycle', async () => {
    let sensor!: ScriptedSensor;
    const h = harness((clock) => (sensor = new ScriptedSensor(clock, [ioError(), ioError(), t(21)])), { retries: 2, intervalMs: 5000 });
    const t0 = h.clock.now();
    h.runner.start();
    await h.clock.advance(1000);
    // 200 ms, then 400 ms.
    expect(sensor.reads.map((at) => at - t0)).toEqual([0, 200, 600]);
    expect(h.states).toEqual([{ state: t(21), at: t0 + 600 }]);
    expect(h.runner.counters).toMatchObject({ reads: 1, errors: 2, consecutiveFailures: 0, online: true });
    // The next cycle starts one interval after the start of this one, not after its end.
    await h.clock.advance(4000);
    expect(sensor.reads.map((at) => at - t0)).toEqual([0, 200, 600, 5000]);
    await h.runner.stop();
  });

  it('goes offline after offlineAfter failed cycles (not reads), once, and back online with the next good read', async () => {
    const h = harness((clock) => new ScriptedSensor(clock, [t(20), ioError('nack 1'), ioError(), ioError(), ioError(), ioError(), ioError(), t(22)]), {
      retries: 1,
      offlineAfter: 2,
      intervalMs: 1000,
    });
    const t0 = h.clock.now();
    h.runner.start();
    await h.clock.advance(1500); // good read at 0, failed cycle at 1000 (2 reads)
    expect(h.runner.counters).toMatchObject({ consecutiveFailures: 1, online: true, errors: 2 });
    expect(h.availability.map((a) => a.online)).toEqual([true]);
    await h.clock.advance(1000); // second failed cycle at 2000 → offline
    expect(h.availability.map((a) => [a.online, a.at - t0])).toEqual([
      [true, 0],
      [false, 2200],
    ]);
    expect(h.availability[1]!.reason).toContain('EIO');
    await h.clock.advance(1000); // third failed cycle: still offline, not announced again
    expect(h.availability).toHaveLength(2);
    expect(h.runner.counters.consecutiveFailures).toBe(3);
    await h.clock.advance(1000); // good read at 4000
    expect(h.availability.map((a) => [a.online, a.at - t0])).toEqual([
      [true, 0],
      [false, 2200],
      [true, 4000],
    ]);
    expect(h.states.map((s) => s.state)).toEqual([t(20), t(22)]);
    expect(h.runner.counters).toMatchObject({ consecutiveFailures: 0, online: true, lastError: 'fake: EIO' });
    await h.runner.stop();
  });

  it('treats undefined (no new sample) as neither a failure nor a success', async () => {
    const h = harness((clock) => new ScriptedSensor(clock, [t(20), ioError(), undefined, ioError(), undefined, ioError(), undefined, t(21)]), {
      offlineAfter: 3,
    });
    h.runner.start();
    await h.clock.advance(4500); // 20, fail, -, fail, -
    expect(h.runner.counters).toMatchObject({ consecutiveFailures: 2, online: true, errors: 2 });
    expect(h.states).toHaveLength(1);
    await h.clock.advance(1000); // third failure: the undefined in between did not reset the count
    expect(h.availability.map((a) => a.online)).toEqual([true, false]);
    await h.clock.advance(1000); // undefined: not back online yet
    expect(h.availability.map((a) => a.online)).toEqual([true, false]);
    await h.clock.advance(1000);
    expect(h.availability.map((a) => a.online)).toEqual([true, false, true]);
    await h.runner.stop();
  });

  it('never overlaps reads of a slow sensor: the next cycle waits for the current one', async () => {
    let sensor!: ScriptedSensor;
    const h = harness((clock) => (sensor = new ScriptedSensor(clock, [t(20)], 1500)), { intervalMs: 1000 });
    const t0 = h.clock.now();
    h.runner.start();
    await h.clock.advance(5000);
    expect(sensor.maxInFlight).toBe(1);
    expect(sensor.reads.map((at) => at - t0)).toEqual([0, 1500, 3000, 4500]);
    // stop() waits for the read in flight (until 6000), and no read starts after it.
    let stopped = false;
    const stopping = h.runner.stop().then(() => (stopped = true));
    await h.clock.advance(900);
    expect(stopped).toBe(false);
    await h.clock.advance(5000);
    await stopping;
    expect(sensor.reads).toHaveLength(4);
    expect(h.states).toHaveLength(4);
  });

  it('closes and reopens a sensor that is not present', async () => {
    let sensor!: ScriptedSensor;
    const h = harness((clock) => (sensor = new ScriptedSensor(clock, [t(20), new DeviceNotPresentError('fake', 'unplugged'), t(21)])));
    h.runner.start();
    await h.clock.advance(2500);
    expect(h.opens).toBe(2);
    expect(sensor.closed).toBe(1);
    expect(h.states.map((s) => s.state)).toEqual([t(20), t(21)]);
    await h.runner.stop();
  });

  it('retries opening a sensor that could not be opened', async () => {
    const clock = new FakeClock();
    let attempts = 0;
    const states: Record<string, number>[] = [];
    const runner = new SensorRunner({
      name: 'late',
      open: async () => {
        attempts++;
        if (attempts < 3) throw new DeviceNotPresentError('late', 'not there yet');
        return new ScriptedSensor(clock, [t(19)]);
      },
      intervalMs: 1000,
      retries: 0,
      offlineAfter: 1,
      filters: new DeviceFilters(),
      clock,
      logger: silentLogger(),
      onState: (state) => states.push(state),
      onAvailability: () => undefined,
    });
    runner.start();
    await clock.advance(2500);
    expect(attempts).toBe(3);
    expect(states).toEqual([t(19)]);
    expect(runner.counters.online).toBe(true);
    await runner.stop();
  });

  it('publishes heartbeats between reads, and not while the sensor is offline', async () => {
    const h = harness((clock) => new ScriptedSensor(clock, [t(20), t(20), t(20), t(20), ioError()]), {
      intervalMs: 10_000,
      offlineAfter: 1,
      filters: { temperature: [{ delta: 1 }, { heartbeat: '3s' }] },
    });
    const t0 = h.clock.now();
    h.runner.start();
    await h.clock.advance(9999);
    // The delta filter holds nothing back on the first value; the heartbeat repeats it every 3 s.
    expect(h.states.map((s) => s.at - t0)).toEqual([0, 3000, 6000, 9000]);
    await h.clock.advance(31_000);
    // Reads at 10 s, 20 s, 30 s are unchanged (delta drops them): heartbeats only. At 40 s the read fails: offline.
    const before = h.states.length;
    expect(h.states.every((s) => s.state.temperature === 20)).toBe(true);
    expect(h.availability.map((a) => [a.online, a.at - t0])).toEqual([
      [true, 0],
      [false, 40_000],
    ]);
    await h.clock.advance(20_000);
    expect(h.states.length).toBe(before);
    expect(h.states.at(-1)!.at - t0).toBeLessThanOrEqual(40_000);
    await h.runner.stop();
  });

  it('stops promptly, even in the middle of a long retry backoff, and reads no more', async () => {
    let sensor!: ScriptedSensor;
    const h = harness((clock) => (sensor = new ScriptedSensor(clock, [ioError()])), { retries: 10, offlineAfter: 1 });
    h.runner.start();
    await h.clock.advance(60_000); // deep into the backoff (200 ms · 2^n)
    const reads = sensor.reads.length;
    let stopped = false;
    void h.runner.stop().then(() => (stopped = true));
    await flush();
    await flush();
    expect(stopped).toBe(true);
    expect(h.clock.pending).toBe(0);
    await h.clock.advance(300_000);
    expect(sensor.reads.length).toBe(reads);
    expect(h.availability).toEqual([]);
  });
});
