import { once } from 'node:events';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { startCliProcess } from '../helpers/cli-process.js';
import { freePort } from '../helpers/free-port.js';
import { mountTmpfs, whyNoTmpfs, type SmallFilesystem } from '../helpers/small-filesystem.js';
import { makeTempDir } from '../helpers/temp-dir.js';

// The state directory on a real 2 MiB filesystem that fills up, then grows: the broker must keep serving, say it is
// degraded while it cannot write, write everything once it can, and say so when a stop could not save.
const noTmpfs = await whyNoTmpfs();

const PAYLOAD = 'x'.repeat(2048);
const filesystems: SmallFilesystem[] = [];
const brokers: TestBroker[] = [];
const clients: MqttClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
  for (const b of brokers.splice(0)) await b.stop().catch(() => undefined);
  for (const fs of filesystems.splice(0)) await fs.unmount();
});

async function broker(persistenceDir: string): Promise<TestBroker> {
  const b = await startTestBroker({ persistenceDir });
  brokers.push(b);
  return b;
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Publishes retained QoS 1 messages, each acknowledged before the next, until `stop()` or `max`; returns the acknowledged topics. */
async function publishUntil(client: MqttClient, prefix: string, stop: () => boolean, max: number): Promise<string[]> {
  const acked: string[] = [];
  for (let i = 0; i < max && !stop(); i++) {
    const topic = `${prefix}/${i}`;
    await client.publishAsync(topic, PAYLOAD, { qos: 1, retain: true });
    acked.push(topic);
  }
  return acked;
}

describe.skipIf(noTmpfs !== undefined)(`a full disk under the state directory${noTmpfs ? ` (skipped: ${noTmpfs})` : ''}`, () => {
  it('degrades health while full, recovers on its own when space returns, and loses nothing acknowledged', async () => {
    const fs = await mountTmpfs('2m');
    filesystems.push(fs);
    const dir = path.join(fs.dir, 'state', 'broker');
    const b = await broker(dir);
    const client = await connectClient(b.url(), { clientId: 'filler' });
    clients.push(client);

    const beforeFull = await publishUntil(client, 'before', () => b.broker.health().status === 'degraded', 4000);
    expect(b.broker.health().status, 'the 2 MiB filesystem never filled up').toBe('degraded');
    const storage = b.broker.health().detail.storage as { reason: string; failingSince: string };
    expect(storage.reason).toMatch(new RegExp(`^persistence cannot write to ${dir}: .*(No space left on device|ENOSPC)`, 'i'));
    expect(b.broker.stats.storageWriteFailures).toBeGreaterThan(0);

    // Still serving and acknowledging while full: kept in memory. Enough of them for LevelDB to fail a compaction too,
    // after which it refuses every write until it is reopened.
    const whileFull = await publishUntil(client, 'during', () => false, 600);
    expect(b.broker.health().status).toBe('degraded');

    await fs.resize('30m');
    await until(() => b.broker.health().status === 'ok', 20_000, 'the broker writes again');
    expect(b.broker.stats.storageRecoveries).toBe(1);
    const afterFull = await publishUntil(client, 'after', () => false, 50);

    await client.endAsync();
    clients.splice(0);
    await b.stop();
    brokers.splice(0);

    const again = await broker(dir);
    const topics = (await again.broker.retained('#')).map((m) => m.topic);
    const acknowledged = [...beforeFull, ...whileFull, ...afterFull];
    expect(new Set(topics)).toEqual(new Set(acknowledged));
  }, 120_000);

  it('a stop while the disk is still full fails and says what was not saved', async () => {
    const fs = await mountTmpfs('2m');
    filesystems.push(fs);
    const dir = path.join(fs.dir, 'state', 'broker');
    const b = await broker(dir);
    const client = await connectClient(b.url(), { clientId: 'filler' });
    clients.push(client);
    await publishUntil(client, 'before', () => b.broker.health().status === 'degraded', 4000);
    expect(b.broker.health().status).toBe('degraded');
    await client.endAsync();
    clients.splice(0);
    brokers.splice(0);
    await expect(b.broker.stop()).rejects.toThrow(new RegExp(`persistence in ${dir} could not save the changes made since .*: they are lost`));
  }, 120_000);

  it('the broker process stopped by SIGTERM while it cannot save exits non-zero', async () => {
    const fs = await mountTmpfs('2m');
    filesystems.push(fs);
    const port = await freePort();
    const config = path.join(fs.dir, 'broker.yaml');
    await writeFile(config, `gateway:\n  state_dir: ${fs.dir}/state\nlog:\n  level: warn\nbroker:\n  sys_interval: 0\n  listeners:\n    - { host: 127.0.0.1, port: ${port} }\n`);
    const child = await startCliProcess('broker', config, port);
    try {
      const client = await connectClient(`mqtt://127.0.0.1:${port}`, { clientId: 'filler' });
      clients.push(client);
      // No health endpoint to ask from outside: fill well past 2 MiB.
      await publishUntil(client, 'fill', () => false, 1500);
      await client.endAsync();
      clients.splice(0);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(1);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);

  it('reports a read-only state directory as not writable', async () => {
    const fs = await mountTmpfs('1m', { readOnly: true });
    filesystems.push(fs);
    const dir = path.join(fs.dir, 'state', 'broker');
    await expect(startTestBroker({ persistenceDir: dir })).rejects.toThrow(`state directory ${dir} is not writable (EROFS: read-only filesystem)`);
  });
});

describe.skipIf(process.getuid?.() === 0)('a state directory the broker user may not write (not as root: root writes anywhere)', () => {
  it('is reported as not writable', async () => {
    const tmp = await makeTempDir();
    try {
      const parent = path.join(tmp.dir, 'locked');
      await mkdir(parent);
      await chmod(parent, 0o500);
      const dir = path.join(parent, 'state', 'broker');
      await expect(startTestBroker({ persistenceDir: dir })).rejects.toThrow(`state directory ${dir} is not writable (EACCES: permission denied)`);
    } finally {
      await tmp.remove();
    }
  });
});
