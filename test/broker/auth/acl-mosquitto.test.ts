/**
 * Cross-checks AclEvaluator's READ/WRITE decisions against a real mosquitto broker
 * loaded with the same acl_file. Skipped when mosquitto is not installed.
 *
 * No password_file + allow_anonymous true: mosquitto then accepts any username
 * unauthenticated, which is all the ACL needs. Mosquitto 2.0 grants every SUBSCRIBE
 * under acl_file, so subjects subscribe to everything and READ is observed as
 * "delivered or not"; WRITE is observed by an observer allowed to read everything.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AclClient } from '../../../src/broker/auth/acl.js';
import { AclEvaluator } from '../../../src/broker/auth/acl.js';
import { AclFile } from '../../../src/broker/auth/acl-file.js';
import { freePort } from '../../helpers/free-port.js';

function findMosquitto(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/opt/homebrew/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, 'mosquitto');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const MOSQUITTO = findMosquitto();

const ACL = `
topic read public/#
topic write anon/in

user sensor
topic write home/sensors/#

user dashboard
topic read home/#
topic deny home/secret/#

user all
topic readwrite #

user sys
topic readwrite $app/#
topic readwrite $SYS/#

user mixed
topic readwrite private/#

user observer
topic read #
topic read $app/#
topic read $SYS/#

user writer
topic write #
topic write $app/#

pattern readwrite dev/%c/#
pattern read inbox/%u/#
pattern deny private/%u
pattern deny dev/%c/locked
`;

type Op = 'write' | 'read';
interface Case {
  readonly who: AclClient;
  readonly op: Op;
  readonly topic: string;
  readonly expected: boolean;
}

const anonC: AclClient = { clientId: 'anon-x' };
const u = (username: string, clientId = `${username}-c`): AclClient => ({ username, clientId });

const CASES: readonly Case[] = [
  { who: u('sensor'), op: 'write', topic: 'home/sensors/x', expected: true },
  { who: u('sensor'), op: 'write', topic: 'home/other', expected: false },
  { who: u('sensor'), op: 'read', topic: 'home/sensors/x', expected: false },
  { who: u('dashboard'), op: 'write', topic: 'home/x', expected: false },
  { who: u('dashboard'), op: 'read', topic: 'home/x', expected: true },
  { who: u('dashboard'), op: 'read', topic: 'home/secret/x', expected: false },
  { who: u('dashboard'), op: 'read', topic: 'other/x', expected: false },
  { who: anonC, op: 'write', topic: 'anon/in', expected: true },
  { who: anonC, op: 'write', topic: 'public/x', expected: false },
  { who: anonC, op: 'read', topic: 'public/x', expected: true },
  { who: anonC, op: 'read', topic: 'anon/in', expected: false },
  { who: u('all'), op: 'write', topic: 'a/b', expected: true },
  { who: u('all'), op: 'write', topic: '$app/x', expected: false },
  { who: u('all'), op: 'read', topic: 'z', expected: true },
  { who: u('all'), op: 'read', topic: '$app/y', expected: false },
  { who: u('sys'), op: 'write', topic: '$app/x', expected: true },
  { who: u('sys'), op: 'read', topic: '$app/y', expected: true },
  { who: u('sys'), op: 'write', topic: '$SYS/foo', expected: false },
  { who: u('sys'), op: 'write', topic: '$SYS/broker/connection/b1/state', expected: true },
  { who: u('mixed'), op: 'write', topic: 'private/mixed', expected: true },
  { who: u('pat1', 'd1'), op: 'write', topic: 'dev/d1/x', expected: true },
  { who: u('pat1', 'd1'), op: 'write', topic: 'dev/d1/locked', expected: false },
  { who: u('pat1', 'd1'), op: 'write', topic: 'dev/d2/x', expected: false },
  { who: u('pat1', 'd1'), op: 'write', topic: 'private/pat1', expected: false },
  { who: u('pat1', 'd1'), op: 'read', topic: 'inbox/pat1/m', expected: true },
  { who: u('pat1', 'd1'), op: 'read', topic: 'inbox/other/m', expected: false },
  { who: u('pat1', 'd1'), op: 'read', topic: 'dev/d1/r', expected: true },
  { who: u('pat1', 'd1'), op: 'read', topic: 'dev/d1/locked', expected: false },
  { who: { clientId: 'd3' }, op: 'write', topic: 'dev/d3/x', expected: true },
  { who: { clientId: 'd3' }, op: 'read', topic: 'inbox//m', expected: false },
  { who: u('a+b', 'd4'), op: 'write', topic: 'dev/d4/x', expected: false },
  { who: u('a+b', 'd4'), op: 'read', topic: 'dev/d4/r', expected: false },
  { who: u('ok', 'x#y'), op: 'read', topic: 'inbox/ok/a', expected: false },
  { who: u('ok2', 'xy'), op: 'read', topic: 'inbox/ok2/a', expected: true },
  { who: u('sl/ash', 'e1'), op: 'read', topic: 'inbox/sl/ash/a', expected: true },
];

const describeCase = (c: Case): string => `${c.op} ${c.topic} as ${JSON.stringify(c.who)}: expected ${c.expected}`;
const identity = (c: AclClient): string => `${c.username ?? ''}\u0000${c.clientId}`;


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(MOSQUITTO === undefined)('ACL decisions match a real mosquitto broker', () => {
  let dir: string;
  let broker: ChildProcess | undefined;
  let port: number;
  let brokerLog = '';
  const clients: MqttClient[] = [];

  async function connect(c: AclClient): Promise<MqttClient> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < 50; attempt++) {
      if (broker?.exitCode != null) break;
      try {
        const client = await connectAsync({
          host: '127.0.0.1',
          port,
          clientId: c.clientId,
          ...(c.username != null ? { username: c.username } : {}),
          protocolVersion: 4,
          reconnectPeriod: 0,
          connectTimeout: 2000,
        });
        clients.push(client);
        return client;
      } catch (err) {
        lastErr = err;
        await sleep(100);
      }
    }
    throw new Error(`cannot connect to mosquitto: ${String(lastErr)}\n${brokerLog}`);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'acl-mosq-'));
    // Started as root, mosquitto drops to the `mosquitto` user, which must still read the files.
    await chmod(dir, 0o755);
    port = await freePort();
    const aclPath = join(dir, 'acl');
    const confPath = join(dir, 'mosquitto.conf');
    await writeFile(aclPath, ACL);
    await writeFile(
      confPath,
      [`listener ${port} 127.0.0.1`, 'allow_anonymous true', `acl_file ${aclPath}`, 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', ''].join('\n'),
    );
    broker = spawn(MOSQUITTO!, ['-c', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    broker.stderr?.on('data', (d: Buffer) => {
      brokerLog += d.toString();
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    broker?.kill('SIGTERM');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('our evaluator agrees with the expected table', () => {
    const acl = new AclEvaluator(AclFile.parse(ACL, 'acl'));
    const mismatches = CASES.filter(
      (c) => (c.op === 'write' ? acl.canPublish(c.who, c.topic) : acl.canRead(c.who, c.topic)) !== c.expected,
    ).map(describeCase);
    expect(mismatches).toEqual([]);
  });

  it('mosquitto agrees with the expected table', async () => {
    const observer = await connect(u('observer'));
    const writer = await connect(u('writer'));
    const seenByObserver = new Set<string>();
    observer.on('message', (_t, payload) => seenByObserver.add(payload.toString()));
    await observer.subscribeAsync(['#', '$app/#', '$SYS/#']);

    const subjects = new Map<string, MqttClient>();
    const seenBySubject = new Map<string, Set<string>>();
    for (const c of CASES) {
      const key = identity(c.who);
      if (subjects.has(key)) continue;
      const client = await connect(c.who);
      const seen = new Set<string>();
      client.on('message', (_t, payload) => seen.add(payload.toString()));
      await client.subscribeAsync(['#', '$app/#', '$SYS/#']);
      subjects.set(key, client);
      seenBySubject.set(key, seen);
    }

    // QoS 1: the PUBACK means mosquitto has processed (and ACL-checked) the message.
    for (const [i, c] of CASES.entries()) {
      if (c.op === 'write') await subjects.get(identity(c.who))!.publishAsync(c.topic, `W${i}`, { qos: 1 });
      else await writer.publishAsync(c.topic, `R${i}`, { qos: 1 });
    }
    await writer.publishAsync('barrier', 'BARRIER', { qos: 1 });
    for (let i = 0; i < 50 && !seenByObserver.has('BARRIER'); i++) await sleep(50);
    expect(seenByObserver.has('BARRIER'), brokerLog).toBe(true);
    await sleep(300); // deliveries to subjects were queued before the barrier reached the observer

    const observed = CASES.map((c, i) =>
      c.op === 'write' ? seenByObserver.has(`W${i}`) : seenBySubject.get(identity(c.who))!.has(`R${i}`),
    );
    const mismatches = CASES.filter((c, i) => observed[i] !== c.expected).map(describeCase);
    expect(mismatches).toEqual([]);
  });
});
