import { spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { NotifySocketError, openUnixDgramTransport, parseNotifyAddress } from '../../../src/app/systemd/notify-socket.js';
import { openSystemd, WatchdogUnavailableError } from '../../../src/app/systemd/systemd-integration.js';
import { SystemdNotifier } from '../../../src/app/systemd/systemd-notifier.js';
import { EventLoopProbe, type HealthVerdict } from '../../../src/app/systemd/watchdog-health.js';
import { createLogger } from '../../../src/util/logger.js';
import { hasUnixDgram, isWatchdogPing, NotifyReceiver } from '../../helpers/notify-receiver.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const hasPython = spawnSync('python3', ['--version']).status === 0;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

async function receiver(): Promise<NotifyReceiver> {
  const temp = await makeTempDir('pi-edge-notify-');
  cleanups.push(temp.remove);
  const socket = new NotifyReceiver(temp.dir);
  cleanups.push(() => socket.close());
  return socket;
}

describe('NOTIFY_SOCKET addresses', () => {
  it('takes a path or an abstract @name, and names the variable and what was expected otherwise', () => {
    expect(parseNotifyAddress('/run/systemd/notify')).toEqual({ kind: 'path', path: '/run/systemd/notify' });
    expect(parseNotifyAddress('@/org/freedesktop/systemd1/notify')).toEqual({ kind: 'abstract', name: '/org/freedesktop/systemd1/notify' });
    expect(() => parseNotifyAddress('run/notify')).toThrow(/NOTIFY_SOCKET="run\/notify": expected an absolute path or @name/);
    expect(() => parseNotifyAddress('@')).toThrow(NotifySocketError);
    expect(() => parseNotifyAddress(`/${'x'.repeat(120)}`)).toThrow(/longer than a unix socket address/);
  });
});

describe.skipIf(!hasUnixDgram())('the unix-dgram transport against a real datagram socket', () => {
  it('delivers each message as one datagram to a socket path', async () => {
    const systemd = await receiver();
    const transport = await openUnixDgramTransport({ kind: 'path', path: systemd.socketPath });
    cleanups.push(() => transport.close());
    await transport.send('READY=1\nSTATUS=up');
    await transport.send('WATCHDOG=1');
    await systemd.waitFor(isWatchdogPing, 5000);
    expect(systemd.messages.map((m) => m.text)).toEqual(['READY=1\nSTATUS=up', 'WATCHDOG=1']);
  });

  it('reports a socket nobody listens on as a failed send', async () => {
    const transport = await openUnixDgramTransport({ kind: 'path', path: '/nonexistent/notify' });
    cleanups.push(() => transport.close());
    await expect(transport.send('READY=1')).rejects.toThrow(/sending to NOTIFY_SOCKET failed/);
  });

  it.skipIf(!hasPython)('reaches an abstract socket (@name) with its exact name', async () => {
    const name = `pi-edge-test-${process.pid}-${Date.now()}`;
    // python3 binds the abstract name as systemd does (exact length) and prints the datagrams it receives.
    const script = 'import socket, sys\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.bind("\\0" + sys.argv[1])\nprint("bound", flush=True)\nfor _ in range(2):\n    print(s.recv(4096).decode().replace("\\n", "|"), flush=True)\n';
    const python = spawn('python3', ['-c', script, name], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => void python.kill());
    let output = '';
    const lines = new Promise<string[]>((resolve) => {
      python.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const got = output.split('\n').filter(Boolean);
        if (got.length >= 3) resolve(got);
      });
    });
    await new Promise<void>((resolve) => python.stdout.once('data', () => resolve()));
    const transport = await openUnixDgramTransport(parseNotifyAddress(`@${name}`));
    cleanups.push(() => transport.close());
    await transport.send('READY=1\nSTATUS=abstract');
    await transport.send('STOPPING=1');
    expect(await lines).toEqual(['bound', 'READY=1|STATUS=abstract', 'STOPPING=1']);
  });

  it.skipIf(!hasPython)('fails with the address when no abstract socket has that name', async () => {
    await expect(openUnixDgramTransport({ kind: 'abstract', name: `pi-edge-nobody-${process.pid}` })).rejects.toThrow(/connecting to NOTIFY_SOCKET=@pi-edge-nobody-\d+ failed: .*Connection refused/);
  });
});

describe('openSystemd', () => {
  it('loads and sends nothing without NOTIFY_SOCKET, even with WATCHDOG_USEC', async () => {
    let opened = 0;
    const result = await openSystemd({ env: { WATCHDOG_USEC: '1000000' }, logger: capturingLogger().logger, openTransport: async () => (opened++, Promise.reject(new Error('loaded'))) });
    expect(result).toBeUndefined();
    expect(opened).toBe(0);
  });

  it('refuses to start when WATCHDOG_USEC is set and the socket module cannot load', async () => {
    const failing = () => Promise.reject(new NotifySocketError('the optional package unix-dgram could not be loaded (Cannot find module)'));
    const attempt = openSystemd({ env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '20000000' }, logger: capturingLogger().logger, openTransport: failing });
    await expect(attempt).rejects.toThrow(WatchdogUnavailableError);
    await expect(attempt).rejects.toThrow(/WATCHDOG_USEC=20000000.*unix-dgram could not be loaded.*remove WatchdogSec=/);
  });

  it('without a watchdog, or one meant for another process (WATCHDOG_PID), warns and runs on', async () => {
    const failing = () => Promise.reject(new NotifySocketError('the optional package unix-dgram could not be loaded'));
    for (const env of [{ NOTIFY_SOCKET: '/run/systemd/notify' }, { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' }]) {
      const { logger, lines } = capturingLogger();
      expect(await openSystemd({ env, logger, pid: 4242, openTransport: failing })).toBeUndefined();
      expect(lines.find((l) => l.level === 40)?.msg).toMatch(/NOTIFY_SOCKET is set but cannot be used/);
    }
  });
});

describe.skipIf(!hasUnixDgram())('the watchdog, with a health check the test controls', () => {
  it('pings at half of WATCHDOG_USEC while healthy, none while unhealthy, and says why in STATUS', async () => {
    const systemd = await receiver();
    const transport = await openUnixDgramTransport({ kind: 'path', path: systemd.socketPath });
    const { logger, lines } = capturingLogger();
    const notifier = new SystemdNotifier({ transport, watchdogUsec: 200_000, logger });
    cleanups.push(() => notifier.close());
    let verdict: HealthVerdict = { healthy: true, reasons: [] };
    expect(notifier.pingIntervalMs).toBe(100);
    notifier.startWatchdog(() => verdict);

    await systemd.waitFor(isWatchdogPing, 5000);
    const healthyFrom = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // 10 expected in 1 s; generous for a loaded machine, but far from a µs/ms mix-up (1000× off either way).
    expect(systemd.count(isWatchdogPing, healthyFrom, Date.now())).toBeGreaterThanOrEqual(4);
    expect(systemd.count(isWatchdogPing, healthyFrom, Date.now())).toBeLessThanOrEqual(12);

    verdict = { healthy: false, reasons: ['bridge queue writer failed'] };
    const status = await systemd.waitFor((n) => n.fields.STATUS?.includes('bridge queue writer failed') === true, 5000);
    const unhealthyFrom = status.at;
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(systemd.count(isWatchdogPing, unhealthyFrom + 1, Date.now())).toBe(0);
    expect(lines.filter((l) => String(l.msg).includes('pings withheld'))).toHaveLength(1);

    verdict = { healthy: true, reasons: [] };
    const resumed = await systemd.waitFor((n) => isWatchdogPing(n) && n.fields.STATUS === 'running', 5000);
    expect(resumed.at).toBeGreaterThan(unhealthyFrom);
  });

  it('sends RELOADING=1 with CLOCK_MONOTONIC in µs, and STOPPING=1 ends the pings', async () => {
    const systemd = await receiver();
    const transport = await openUnixDgramTransport({ kind: 'path', path: systemd.socketPath });
    const notifier = new SystemdNotifier({ transport, watchdogUsec: 100_000, logger: capturingLogger().logger });
    cleanups.push(() => notifier.close());
    notifier.startWatchdog(() => ({ healthy: true, reasons: [] }));
    const before = process.hrtime.bigint() / 1000n;
    await notifier.reloading();
    const reloading = await systemd.waitFor((n) => n.fields.RELOADING === '1', 5000);
    expect(BigInt(reloading.fields.MONOTONIC_USEC!)).toBeGreaterThanOrEqual(before);
    expect(BigInt(reloading.fields.MONOTONIC_USEC!)).toBeLessThanOrEqual(process.hrtime.bigint() / 1000n);
    await notifier.stopping();
    const stopping = await systemd.waitFor((n) => n.fields.STOPPING === '1', 5000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(systemd.count(isWatchdogPing, stopping.at + 1, Date.now())).toBe(0);
  });
});

describe('the event loop probe', () => {
  it('fails after the loop was blocked longer than its limit, and passes again after', async () => {
    const probe = new EventLoopProbe(250);
    cleanups.push(() => probe.close());
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(probe.check()).toBeUndefined();
    const until = Date.now() + 800;
    while (Date.now() < until) {
      // a handler that never yields: the event loop cannot run a timer meanwhile
    }
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(probe.check()).toMatch(/event loop blocked for \d+ ms \(limit 250 ms\)/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(probe.check()).toBeUndefined();
  });
});
