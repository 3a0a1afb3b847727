import { describe, expect, it } from 'vitest';
import { Lifecycle, LifecycleStopError, ServiceStopTimeout } from '../../src/app/lifecycle.js';
import type { Service } from '../../src/app/service.js';
import type { ServiceHealth } from '../../src/util/health.js';
import { silentLogger } from '../../src/util/logger.js';

/** A service that records what happens to it in a shared journal, and fails or hangs where told. */
function service(name: string, journal: string[], behaviour: { failStart?: boolean; failStop?: boolean; hangStop?: boolean; health?: ServiceHealth } = {}): Service {
  return {
    name,
    async start() {
      journal.push(`start ${name}`);
      if (behaviour.failStart) throw new Error(`${name} cannot start`);
    },
    async stop() {
      journal.push(`stop ${name}`);
      if (behaviour.failStop) throw new Error(`${name} cannot stop`);
      if (behaviour.hangStop) await new Promise(() => {});
    },
    health: () => behaviour.health ?? { status: 'ok' },
    async reload() {
      journal.push(`reload ${name}`);
      if (behaviour.failStop) throw new Error(`${name} cannot reload`);
    },
  };
}

describe('Lifecycle', () => {
  it('starts in order and stops in reverse', async () => {
    const journal: string[] = [];
    const lifecycle = new Lifecycle([service('broker', journal), service('hardware', journal), service('gateway', journal)], silentLogger());
    await lifecycle.start();
    await lifecycle.stop();
    expect(journal).toEqual(['start broker', 'start hardware', 'start gateway', 'stop gateway', 'stop hardware', 'stop broker']);
  });

  it('stops what it started, in reverse, when a later service fails to start, and rethrows', async () => {
    const journal: string[] = [];
    const lifecycle = new Lifecycle([service('broker', journal), service('hardware', journal), service('gateway', journal, { failStart: true })], silentLogger());
    await expect(lifecycle.start()).rejects.toThrow('gateway cannot start');
    expect(journal).toEqual(['start broker', 'start hardware', 'start gateway', 'stop hardware', 'stop broker']);
  });

  it('stops every service when one stop throws or hangs, then reports both', async () => {
    const journal: string[] = [];
    const lifecycle = new Lifecycle(
      [service('broker', journal), service('hardware', journal, { hangStop: true }), service('gateway', journal, { failStop: true })],
      silentLogger(),
      50,
    );
    await lifecycle.start();
    const error = await lifecycle.stop().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LifecycleStopError);
    expect((error as LifecycleStopError).failures.map((f) => f.service)).toEqual(['gateway', 'hardware']);
    expect((error as LifecycleStopError).failures[1]!.error).toBeInstanceOf(ServiceStopTimeout);
    expect(journal.slice(3)).toEqual(['stop gateway', 'stop hardware', 'stop broker']);
  });

  it('reloads every running service, a failing one not keeping the others from it', async () => {
    const journal: string[] = [];
    const lifecycle = new Lifecycle([service('broker', journal, { failStop: true }), service('gateway', journal)], silentLogger());
    await lifecycle.start();
    await lifecycle.reload();
    expect(journal.slice(2)).toEqual(['reload broker', 'reload gateway']);
  });

  it('sums up health: the worst service, and a service not running as failed', async () => {
    const journal: string[] = [];
    const lifecycle = new Lifecycle(
      [service('broker', journal), service('gateway', journal, { health: { status: 'degraded', detail: { sensors: { porch: { online: false } } } } })],
      silentLogger(),
    );
    expect(lifecycle.health()).toEqual({ status: 'failed', services: { broker: { status: 'failed', detail: { running: false } }, gateway: { status: 'failed', detail: { running: false } } } });
    await lifecycle.start();
    expect(lifecycle.health()).toMatchObject({ status: 'degraded', services: { broker: { status: 'ok' }, gateway: { status: 'degraded' } } });
  });
});
