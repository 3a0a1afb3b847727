import { describe, expect, it } from 'vitest';
import { BridgeSet, type ManagedBridge } from '../../src/bridge/bridge-set.js';
import { bridgeSchema, type BridgeSection } from '../../src/bridge/config.js';
import { silentLogger } from '../../src/util/logger.js';

const section = (connection: string, topic = 'a/# out 1'): BridgeSection => bridgeSchema.parse({ connection, addresses: ['127.0.0.1:1883'], topics: [topic] });

function rig(sections: BridgeSection[]) {
  const journal: string[] = [];
  const set = new BridgeSet(
    sections,
    (s): ManagedBridge => ({
      start: async () => void journal.push(`start ${s.connection} ${s.topics[0]!.pattern}`),
      stop: async () => void journal.push(`stop ${s.connection}`),
      health: () => ({ status: s.connection === 'down' ? 'degraded' : 'ok' }),
    }),
    silentLogger(),
  );
  return { set, journal };
}

describe('BridgeSet', () => {
  it('starts every bridge in order and stops them in reverse', async () => {
    const { set, journal } = rig([section('one'), section('two')]);
    await set.start();
    await set.stop();
    expect(journal).toEqual(['start one a/#', 'start two a/#', 'stop two', 'stop one']);
  });

  it('on reload, leaves an unchanged bridge alone, restarts a changed one, starts a new one and stops a removed one', async () => {
    const { set, journal } = rig([section('same'), section('changed'), section('removed')]);
    await set.start();
    journal.length = 0;
    const done = await set.apply([section('same'), section('changed', 'b/# out 1'), section('added')]);
    expect(done).toEqual({ started: ['added'], restarted: ['changed'], stopped: ['removed'] });
    expect(journal).toEqual(['stop removed', 'stop changed', 'start changed b/#', 'start added a/#']);
  });

  it('is as healthy as its worst bridge', async () => {
    const { set } = rig([section('up'), section('down')]);
    await set.start();
    expect(set.health()).toMatchObject({ status: 'degraded', detail: { up: { status: 'ok' }, down: { status: 'degraded' } } });
  });
});
