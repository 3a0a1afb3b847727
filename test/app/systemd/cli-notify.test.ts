import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { demoConfigText } from '../../helpers/demo-config.js';
import { freePort } from '../../helpers/free-port.js';
import { hasUnixDgram, isWatchdogPing, NotifyReceiver } from '../../helpers/notify-receiver.js';
import { mountFreezable, whyNoFreezable, type FreezableFilesystem } from '../../helpers/small-filesystem.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const hasTsx = existsSync(path.join(repoRoot, 'node_modules', '.bin', 'tsx'));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => (socket.destroy(), resolve(true)));
    socket.on('error', () => resolve(false));
  });
}

/**
 * The gateway as systemd runs it: `run` on the demo's simulated hardware plus a bridge whose cloud is down (a
 * disconnected bridge must not stop the watchdog), NOTIFY_SOCKET on a real datagram socket that stands in for
 * systemd, and WATCHDOG_USEC of 1 s: a ping every 500 ms. `prepare` runs before the gateway starts, on its state dir.
 */
async function startUnderSystemd(prepare?: (stateDir: string) => Promise<void>) {
  const temp = await makeTempDir('pi-edge-systemd-');
  cleanups.push(temp.remove);
  const systemd = new NotifyReceiver(temp.dir);
  cleanups.push(() => systemd.close());
  const port = await freePort();
  const cloudPort = await freePort(); // nothing listens there: the bridge stays disconnected
  const stateDir = path.join(temp.dir, 'state');
  await prepare?.(stateDir);
  const config = path.join(temp.dir, 'gateway.yaml');
  const bridge = `bridges:\n  - connection: cloud\n    addresses: ["127.0.0.1:${cloudPort}"]\n    restart_timeout: 30\n    topics: ['test/out/# out 1']\n`;
  await writeFile(config, `${await demoConfigText(port, stateDir)}\n${bridge}`);

  const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'cli', 'main.ts'), 'run', '--config', config], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', NOTIFY_SOCKET: systemd.socketPath, WATCHDOG_USEC: '1000000' },
  });
  cleanups.push(() => void child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // READY=1 means serving: the listener accepts by then.
  const ready = await systemd.waitFor((n) => n.fields.READY === '1', 30_000).catch((error: Error) => {
    throw new Error(`${error.message}\n${output}`);
  });
  return { systemd, child, port, ready, exited, output: () => output };
}

describe.skipIf(!hasTsx || !hasUnixDgram())('the CLI under a stand-in systemd (Type=notify, WatchdogSec=1)', () => {
  it('READY=1 once listening, pings at half of WATCHDOG_USEC, RELOADING=1/READY=1 on SIGHUP, STOPPING=1 on SIGTERM', async () => {
    const { systemd, child, port, ready, exited, output } = await startUnderSystemd();
    expect(await accepts(port), output()).toBe(true);
    expect(ready.fields.STATUS).toContain(`mqtt://127.0.0.1:${port}`);
    expect(systemd.messages.filter(isWatchdogPing)).toHaveLength(0); // no ping before READY=1

    // Pings at 500 ms: 6 in 3 s; the bounds leave room for a loaded machine and catch a µs/ms mix-up.
    await systemd.waitFor(isWatchdogPing, 5000);
    const windowStart = Date.now();
    await sleep(3000);
    const pings = systemd.count(isWatchdogPing, windowStart, Date.now());
    expect(pings, output()).toBeGreaterThanOrEqual(3);
    expect(pings, output()).toBeLessThanOrEqual(9);

    // SIGHUP: RELOADING=1 (with MONOTONIC_USEC) then READY=1.
    const beforeReload = systemd.messages.length;
    child.kill('SIGHUP');
    const reloading = await systemd.waitFor((n) => n.fields.RELOADING === '1', 10_000, beforeReload);
    expect(reloading.fields.MONOTONIC_USEC).toMatch(/^\d+$/);
    const readyAgain = await systemd.waitFor((n) => n.fields.READY === '1', 10_000, beforeReload);
    expect(readyAgain.at).toBeGreaterThanOrEqual(reloading.at);
    expect(systemd.messages.indexOf(readyAgain)).toBeGreaterThan(systemd.messages.indexOf(reloading));

    // SIGTERM: STOPPING=1 first, then a clean exit.
    const beforeStop = systemd.messages.length;
    child.kill('SIGTERM');
    await systemd.waitFor((n) => n.fields.STOPPING === '1', 10_000, beforeStop);
    expect(await exited, output()).toBe(0);
  }, 90_000);

  it('withholds the pings while a bridge queue write hangs (a frozen filesystem), and pings again once it returns', async ({ skip }) => {
    const why = await whyNoFreezable();
    if (why) return skip(why);
    // The bridges' queues live on a filesystem the test freezes: a write to it hangs, as on a dying SD card.
    let disk: FreezableFilesystem | undefined;
    const { systemd, child, port, exited, output } = await startUnderSystemd(async (stateDir) => {
      const mounted = await mountFreezable({ at: path.join(stateDir, 'bridges') });
      disk = mounted;
      cleanups.push(() => mounted.unmount());
    });
    if (!disk) throw new Error('not mounted');
    await systemd.waitFor(isWatchdogPing, 5000);

    await disk.freeze();
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    cleanups.push(() => client.endAsync(true));
    client.publish('test/out/reading', '21.5', { qos: 1 }); // its PUBACK waits for the append, which hangs
    const unhealthy = await systemd.waitFor((n) => n.fields.STATUS?.includes('bridge queue writer hangs') === true, 30_000);
    expect(unhealthy.fields.STATUS).toMatch(/cloud: queue write hanging for \d+ s/);
    await sleep(2500);
    expect(systemd.count(isWatchdogPing, unhealthy.at + 1, Date.now()), output()).toBe(0);
    expect(output()).toMatch(/systemd watchdog pings withheld/);

    // The write returns: healthy again (the bridge is only disconnected), and the pings resume.
    const thawedAt = Date.now();
    await disk.thaw();
    await systemd.waitFor((n) => isWatchdogPing(n) && n.at > thawedAt, 10_000);

    const beforeStop = systemd.messages.length;
    child.kill('SIGTERM');
    await systemd.waitFor((n) => n.fields.STOPPING === '1', 10_000, beforeStop);
    expect(await exited, output()).toBe(0);
  }, 120_000);
});
