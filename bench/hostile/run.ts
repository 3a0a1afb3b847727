import { parseArgs } from 'node:util';
import {
  connectionFlood,
  offlineSession,
  partialConnects,
  partialPublishes,
  startProbe,
  stuckSubscriber,
  unreleasedQos2,
  webSocketFragments,
  type AttackResult,
} from './attacks.js';
import { MOSQUITTO, rssSampler, settledRss, startHostileBroker, type HostileBroker, type HostileBrokerKind, type HostileLimits } from './brokers.js';
import { existsSync } from 'node:fs';

/**
 * `npm run bench:hostile [-- --broker ours,mosquitto] [--attack NAME,...]`: each attack of issue 16 (points 2-5)
 * against our broker and Debian's mosquitto 2 in the same run, each broker fresh for each attack, with the defaults
 * a user gets (but max_connections for the flood). Prints, per attack and broker: attempts, what was refused or cut,
 * peak and final RSS above the broker's RSS before the attack, and whether an ordinary client (a probe publishing to
 * itself every 100 ms) was served throughout. The tests under test/broker/hostile/ are short forms of these.
 */

const MiB = 1024 * 1024;

interface Attack {
  name: string;
  what: string;
  limits?: HostileLimits;
  run(broker: HostileBroker): Promise<AttackResult>;
}

const ATTACKS: Attack[] = [
  {
    name: 'connection-flood',
    what: '10 rounds of 100 connects racing at max_connections 20, accepted ones leaving after a few ms',
    limits: { maxConnections: 20 },
    run: (b) => connectionFlood(b.port, { parallel: 100, rounds: 10 }),
  },
  {
    name: 'huge-connect',
    what: '4 connections announce a 268,435,455-byte CONNECT and stream 32 MB of it each',
    run: (b) => partialConnects(b.port, { connections: 4, announced: 268_435_455, send: 32 * MiB, holdMs: 2_000 }),
  },
  {
    name: 'many-connects',
    what: '200 connections each announce a 1 MiB CONNECT and send 1000 KB of it',
    run: (b) => partialConnects(b.port, { connections: 200, announced: MiB, send: 1000 * 1024, holdMs: 2_000 }),
  },
  {
    name: 'partial-publishes',
    what: '200 connected clients each send 800 KB of a 900 KB PUBLISH and stop',
    run: (b) => partialPublishes(b.port, { connections: 200, announced: 900 * 1024, send: 800 * 1024, holdMs: 2_000 }),
  },
  {
    name: 'ws-fragments',
    what: 'a WebSocket message of 90 MB in 64 KiB fragments, before CONNECT',
    run: (b) => webSocketFragments(`ws://127.0.0.1:${b.wsPort}/mqtt`, { total: 90 * MiB, timeoutMs: 30_000 }),
  },
  {
    name: 'stuck-subscriber-q0',
    what: 'a subscriber stops reading; 5,000 QoS 0 messages of 16 KiB (PINGREQ every 50); a healthy subscriber',
    run: (b) => stuckSubscriber(b.port, { messages: 5_000, payloadBytes: 16 * 1024, qos: 0, timeoutMs: 60_000 }),
  },
  {
    name: 'stuck-subscriber-q1',
    what: 'the same at QoS 1, each PUBLISH waiting for its PUBACK',
    run: (b) => stuckSubscriber(b.port, { messages: 5_000, payloadBytes: 16 * 1024, qos: 1, timeoutMs: 60_000 }),
  },
  {
    name: 'offline-session',
    what: '3 rounds of 20,000 QoS 1 messages of 1 KiB for an offline persistent session, back between rounds without acknowledging',
    run: (b) => offlineSession(b.port, { messages: 20_000, payloadBytes: 1024, rounds: 3 }),
  },
  {
    name: 'unreleased-qos2',
    what: '5 connections of one persistent session, each 1,000 QoS 2 PUBLISH of 1 KiB never released (no PUBREL)',
    run: (b) => unreleasedQos2(b.port, { perRound: 1_000, payloadBytes: 1024, rounds: 5 }),
  },
];

interface Row {
  attack: string;
  broker: HostileBrokerKind;
  result?: AttackResult;
  error?: string;
  peakMiB: number;
  finalMiB: number;
  probe: { sent: number; received: number; longestMs: number };
  crashed: boolean;
}

async function runOne(attack: Attack, kind: HostileBrokerKind): Promise<Row> {
  const broker = await startHostileBroker(kind, attack.limits);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const start = broker.rss();
    const probe = await startProbe(broker.port);
    const sampler = rssSampler(broker.pid);
    let result: AttackResult | undefined;
    let error: string | undefined;
    try {
      result = await attack.run(broker);
    } catch (e) {
      error = (e as Error).message;
    }
    const peak = sampler.stop();
    const served = await probe.stop().catch(() => ({ sent: 0, received: 0, longestMs: 0 }));
    let final = NaN;
    let crashed = false;
    try {
      final = await settledRss(broker.pid, start, 20 * MiB, 15_000);
    } catch {
      crashed = true;
    }
    return { attack: attack.name, broker: kind, result, error, peakMiB: (peak - start) / MiB, finalMiB: (final - start) / MiB, probe: served, crashed };
  } finally {
    await broker.stop();
  }
}

function format(rows: Row[]): string {
  const lines = [
    '| attack | broker | attempts | refused / cut / dropped | peak RSS Δ | final RSS Δ | probe served | probe worst RTT | figures |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const detail = r.error ? `error: ${r.error}` : Object.entries(r.result?.detail ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
    lines.push(
      `| ${r.attack} | ${r.broker} | ${r.result?.attempts ?? '-'} | ${r.result?.refused ?? '-'} | ${r.peakMiB.toFixed(1)} MiB | ${r.crashed ? 'crashed' : `${r.finalMiB.toFixed(1)} MiB`} | ${r.probe.received}/${r.probe.sent} | ${r.probe.longestMs} ms | ${detail} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { broker: { type: 'string', default: 'ours,mosquitto' }, attack: { type: 'string' } },
  });
  const kinds = values.broker.split(',').filter(Boolean) as HostileBrokerKind[];
  if (kinds.includes('mosquitto') && !existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} is not installed (apt-get install -y mosquitto)`);
  const wanted = values.attack?.split(',');
  const attacks = wanted ? ATTACKS.filter((a) => wanted.includes(a.name)) : ATTACKS;
  const rows: Row[] = [];
  for (const attack of attacks) {
    console.error(`${attack.name}: ${attack.what}`);
    for (const kind of kinds) {
      const row = await runOne(attack, kind);
      rows.push(row);
      console.error(`  ${kind}: ${row.error ?? JSON.stringify(row.result)} peak +${row.peakMiB.toFixed(1)} MiB, final +${row.finalMiB.toFixed(1)} MiB, probe ${row.probe.received}/${row.probe.sent}`);
    }
  }
  console.log(format(rows));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
