import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExecutorShutDownError, OutputExecutor, OutputExecutorError, UnknownOutputError } from '../../../src/gateway/commands/output-executor.js';
import type { OutputStateReport } from '../../../src/gateway/commands/output-executor.js';
import { systemClock } from '../../../src/util/clock.js';
import { FakeLine } from './fake-line.js';

describe('OutputExecutor', () => {
  let led: FakeLine;
  let relay: FakeLine;
  let reports: OutputStateReport[];
  let executor: OutputExecutor;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2025-06-01T12:00:00Z'));
    led = new FakeLine(17, 0);
    relay = new FakeLine(27, 1);
    reports = [];
    executor = new OutputExecutor(
      [
        { name: 'led', line: led },
        { name: 'relay', line: relay, failSafe: 0 },
      ],
      { onState: (report) => reports.push(report) },
    );
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('init reads the current levels', async () => {
    expect(await executor.init()).toEqual({ states: { led: 'OFF', relay: 'ON' }, failures: [] });
    expect(executor.states()).toEqual({ led: 'OFF', relay: 'ON' });
    expect(led.writes).toEqual([]);
  });

  it('drives lines, tracks state and reports each write', async () => {
    await executor.init();
    expect(await executor.apply([{ output: 'led', action: 'on' }, { output: 'relay', action: 'off' }])).toEqual({
      states: { led: 'ON', relay: 'OFF' },
      failures: [],
    });
    expect(led.level).toBe(1);
    expect(relay.level).toBe(0);
    expect(reports).toEqual([
      { output: 'led', state: 'ON', previous: 'OFF', cause: 'command' },
      { output: 'relay', state: 'OFF', previous: 'ON', cause: 'command' },
    ]);
  });

  it('toggles from the current level, reading the line when the state is not known yet', async () => {
    expect((await executor.apply([{ output: 'relay', action: 'toggle' }])).states).toEqual({ relay: 'OFF' });
    expect((await executor.apply([{ output: 'relay', action: 'toggle' }])).states).toEqual({ relay: 'ON' });
    expect(relay.writes).toEqual([0, 1]);
  });

  it('reverts a timed command after its duration', async () => {
    await executor.init();
    await executor.apply([{ output: 'led', action: 'on', durationMs: 5000 }]);
    expect(reports.at(-1)).toEqual({
      output: 'led',
      state: 'ON',
      previous: 'OFF',
      cause: 'command',
      revert: { at: Date.parse('2025-06-01T12:00:05Z'), to: 'OFF' },
    });
    expect(executor.pendingRevert('led')).toEqual({ at: Date.parse('2025-06-01T12:00:05Z'), to: 'OFF' });
    await vi.advanceTimersByTimeAsync(4999);
    expect(led.level).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(led.level).toBe(0);
    expect(executor.state('led')).toBe('OFF');
    expect(executor.pendingRevert('led')).toBeUndefined();
    expect(reports.at(-1)).toEqual({ output: 'led', state: 'OFF', previous: 'ON', cause: 'revert' });
  });

  it('a timed OFF returns to ON', async () => {
    await executor.apply([{ output: 'relay', action: 'off', durationMs: 1000 }]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(relay.writes).toEqual([0, 1]);
  });

  it('a new command cancels the pending revert', async () => {
    await executor.apply([{ output: 'led', action: 'on', durationMs: 5000 }]);
    await vi.advanceTimersByTimeAsync(2000);
    await executor.apply([{ output: 'led', action: 'on' }]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(led.level).toBe(1);
    expect(led.writes).toEqual([1, 1]);
  });

  it('a new timed command extends the pulse and still returns to the original level', async () => {
    await executor.apply([{ output: 'led', action: 'on', durationMs: 5000 }]);
    await vi.advanceTimersByTimeAsync(3000);
    await executor.apply([{ output: 'led', action: 'on', durationMs: 5000 }]);
    await vi.advanceTimersByTimeAsync(4999);
    expect(led.level).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(led.level).toBe(0);
    expect(led.writes).toEqual([1, 1, 0]);
  });

  it('keeps the pending revert when the new command could not be written', async () => {
    await executor.apply([{ output: 'led', action: 'on', durationMs: 5000 }]);
    led.failWrites = true;
    const outcome = await executor.apply([{ output: 'led', action: 'off' }]);
    expect(outcome.states).toEqual({});
    expect(outcome.failures).toMatchObject([{ output: 'led', message: 'gpio17: EIO' }]);
    led.failWrites = false;
    await vi.advanceTimersByTimeAsync(5000);
    expect(led.level).toBe(0);
  });

  it('applies a revert that fell due while the line was unavailable once the line is back', async () => {
    await executor.init();
    await executor.apply([{ output: 'led', action: 'on', durationMs: 5000 }]);
    led.failWrites = true; // the line is gone (e.g. its gpioset died) when the revert falls due
    await vi.advanceTimersByTimeAsync(5000);
    expect(led.level).toBe(1);
    await executor.lineRestored('relay'); // another output's recovery changes nothing here
    expect(led.level).toBe(1);
    led.failWrites = false;
    await executor.lineRestored('led');
    expect(led.level).toBe(0);
    expect(reports.at(-1)).toEqual({ output: 'led', state: 'OFF', previous: 'ON', cause: 'revert' });
    // Owed once: a second recovery writes nothing.
    await executor.lineRestored('led');
    expect(led.writes).toEqual([1, 0]);
  });

  it('does not apply a missed revert that a later command superseded', async () => {
    await executor.apply([{ output: 'led', action: 'on', durationMs: 5000 }]);
    led.failWrites = true;
    await vi.advanceTimersByTimeAsync(5000);
    led.failWrites = false;
    await executor.apply([{ output: 'led', action: 'on' }]);
    await executor.lineRestored('led');
    expect(led.level).toBe(1);
    expect(led.writes).toEqual([1, 1]);
  });

  it('reports hardware failures per output and carries on with the others', async () => {
    led.failWrites = true;
    const outcome = await executor.apply([{ output: 'led', action: 'on' }, { output: 'relay', action: 'off' }]);
    expect(outcome.states).toEqual({ relay: 'OFF' });
    expect(outcome.failures.map((f) => f.output)).toEqual(['led']);
  });

  it('refuses unknown outputs before touching any line', async () => {
    await expect(executor.apply([{ output: 'led', action: 'on' }, { output: 'fan', action: 'on' }])).rejects.toThrow(UnknownOutputError);
    expect(led.writes).toEqual([]);
    await expect(executor.apply([{ output: 'led', action: 'on', durationMs: 2 ** 31 }])).rejects.toThrow(OutputExecutorError);
  });

  it('refuses duplicate output names', () => {
    expect(() => new OutputExecutor([{ name: 'a', line: led }, { name: 'a', line: relay }])).toThrow(/configured twice/);
  });

  it('serialises writes in arrival order', async () => {
    const first = executor.apply([{ output: 'led', action: 'on' }]);
    const second = executor.apply([{ output: 'led', action: 'off' }]);
    const third = executor.apply([{ output: 'led', action: 'toggle' }]);
    await Promise.all([first, second, third]);
    expect(led.writes).toEqual([1, 0, 1]);
  });

  it('shutdown cancels timers, drives every output to its fail-safe level and refuses further commands', async () => {
    const failSafeOn = new FakeLine(22, 0);
    const exec = new OutputExecutor(
      [
        { name: 'led', line: led },
        { name: 'heater', line: failSafeOn, failSafe: 1 },
      ],
      { onState: (r) => reports.push(r) },
    );
    await exec.apply([{ output: 'led', action: 'on', durationMs: 5000 }]);
    const outcome = await exec.shutdown();
    expect(outcome).toEqual({ states: { led: 'OFF', heater: 'ON' }, failures: [] });
    expect(reports.filter((r) => r.cause === 'shutdown').map((r) => r.output)).toEqual(['led', 'heater']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(led.writes).toEqual([1, 0]);
    await expect(exec.apply([{ output: 'led', action: 'on' }])).rejects.toThrow(ExecutorShutDownError);
    expect(await exec.shutdown()).toBe(outcome);
  });

  it('shutdown reports lines it could not drive', async () => {
    relay.failWrites = true;
    const outcome = await executor.shutdown();
    expect(outcome.states).toEqual({ led: 'OFF' });
    expect(outcome.failures).toMatchObject([{ output: 'relay' }]);
  });

  it('works with an injected clock instead of global timers', async () => {
    vi.useRealTimers();
    const pending: { callback: () => void; ms: number }[] = [];
    const exec = new OutputExecutor([{ name: 'led', line: led }], {
      clock: {
        ...systemClock,
        now: () => 1000,
        setTimeout: (callback, ms) => pending.push({ callback, ms }),
        clearTimeout: () => undefined,
      },
    });
    await exec.apply([{ output: 'led', action: 'on', durationMs: 250 }]);
    expect(pending.map((p) => p.ms)).toEqual([250]);
    expect(exec.pendingRevert('led')).toEqual({ at: 1250, to: 'OFF' });
    pending[0]!.callback();
    await exec.apply([]); // the revert is queued before this batch
    expect(led.writes).toEqual([1, 0]);
  });

  it('a listener that throws does not break execution', async () => {
    const exec = new OutputExecutor([{ name: 'led', line: led }], {
      onState: () => {
        throw new Error('publisher down');
      },
    });
    expect((await exec.apply([{ output: 'led', action: 'on' }])).states).toEqual({ led: 'ON' });
  });
});
