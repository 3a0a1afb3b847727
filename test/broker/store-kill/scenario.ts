import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Prng } from '../fuzz/prng.js';
import type { KillableBroker } from './brokers.js';

/**
 * Power loss of the broker's own store: clients publish retained messages, make persistent sessions with QoS 1
 * subscriptions and have messages queued for them while they are offline; the broker is SIGKILLed at a seeded
 * random moment, restarted on the same directory, and everything acknowledged more than `graceMs` before the kill
 * must be there. Then the next cycle, on the same store.
 */
export interface StoreKillOptions {
  seed: number;
  /** SIGKILLs; the broker is started once more than this. */
  cycles: number;
  /** Each cycle's load runs for a seeded time in [minRunMs, maxRunMs] before the kill. */
  minRunMs: number;
  maxRunMs: number;
  /** What may be lost: the write-behind interval plus a margin for a loaded machine. */
  graceMs: number;
  /** One QoS 1 publish every this many ms, retained and queued in turn. */
  publishIntervalMs: number;
  /** A new persistent session every this many ms. */
  sessionIntervalMs: number;
}

export interface LossCount {
  /** Acknowledged (a PUBACK, or a SUBACK and a clean disconnect for a session). */
  acknowledged: number;
  /** Of those, acknowledged more than graceMs before a kill: must survive. */
  old: number;
  /** Old and missing after the restart: failures. */
  lost: number;
  /** Acknowledged within graceMs of a kill and missing: allowed. */
  lostRecent: number;
  /** The oldest acknowledgement lost, in ms before its kill (0 when nothing was lost). */
  oldestLostMs: number;
}

export interface StoreKillReport {
  broker: string;
  seed: number;
  kills: number;
  /** Restarts on the killed store that came up. */
  restarts: number;
  retained: LossCount;
  queued: LossCount;
  sessions: LossCount;
  /** Kill times, ms into each cycle's load. */
  killedAfterMs: number[];
}

interface Session {
  id: string;
  /** When its clean disconnect completed: messages sent after this are queued for it. */
  offlineAt: number;
}

interface Publish {
  sentAt: number;
  ackAt: number;
}

const count = (): LossCount => ({ acknowledged: 0, old: 0, lost: 0, lostRecent: 0, oldestLostMs: 0 });

export async function runStoreKill(broker: KillableBroker, options: StoreKillOptions): Promise<StoreKillReport> {
  const rng = new Prng(options.seed);
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const report: StoreKillReport = {
    broker: broker.name,
    seed: options.seed,
    kills: 0,
    restarts: 0,
    retained: count(),
    queued: count(),
    sessions: count(),
    killedAfterMs: [],
  };
  const retainedAcks = new Map<string, number>(); // topic -> PUBACK time, every cycle so far
  const sessions: Session[] = [];
  await broker.start();
  try {
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      const runMs = rng.int(options.minRunMs, options.maxRunMs);
      const { acks, newSessions, killedAt } = await loadAndKill(broker, url, cycle, runMs, options);
      report.kills++;
      report.killedAfterMs.push(runMs);
      await broker.start();
      report.restarts++;
      const threshold = killedAt - options.graceMs;
      const lostAt = (ackAt: number, into: LossCount) => {
        if (ackAt < threshold) into.lost++;
        else into.lostRecent++;
        into.oldestLostMs = Math.max(into.oldestLostMs, killedAt - ackAt);
      };

      // Retained: this cycle's and every earlier one's that survived so far, as the store must keep them all.
      for (const [topic, p] of acks) {
        if (!topic.startsWith('sk/r/')) continue;
        retainedAcks.set(topic, p.ackAt);
        tally(report.retained, p.ackAt, threshold);
      }
      const found = await retainedTopics(url, [...retainedAcks].filter(([, ackAt]) => ackAt < threshold).map(([topic]) => topic));
      for (const [topic, ackAt] of [...retainedAcks]) {
        if (found.has(topic)) continue;
        lostAt(ackAt, report.retained);
        retainedAcks.delete(topic); // counted once
      }

      // Sessions, old and new, and what this cycle queued for them while they were offline.
      const queued = [...acks].filter(([topic]) => topic.startsWith('sk/q/'));
      for (const session of newSessions) {
        sessions.push(session);
        tally(report.sessions, session.offlineAt, threshold);
      }
      // Drained all at once: each waits for its own messages.
      await Promise.all(
        [...sessions].map(async (session) => {
          const expected = queued.filter(([, p]) => p.sentAt > session.offlineAt);
          for (const [, p] of expected) tally(report.queued, p.ackAt, threshold);
          const { present, topics } = await drainSession(url, session.id, expected.filter(([, p]) => p.ackAt < threshold).map(([topic]) => topic));
          if (!present) {
            lostAt(session.offlineAt, report.sessions);
            sessions.splice(sessions.indexOf(session), 1);
          }
          for (const [topic, p] of expected) if (!topics.has(topic)) lostAt(p.ackAt, report.queued);
          session.offlineAt = Date.now();
        }),
      );
    }
  } finally {
    await broker.stop();
  }
  return report;
}

function tally(into: LossCount, ackAt: number, threshold: number): void {
  into.acknowledged++;
  if (ackAt < threshold) into.old++;
}

/** One cycle's load, then SIGKILL. */
async function loadAndKill(
  broker: KillableBroker,
  url: string,
  cycle: number,
  runMs: number,
  options: StoreKillOptions,
): Promise<{ acks: Map<string, Publish>; newSessions: Session[]; killedAt: number }> {
  const acks = new Map<string, Publish>();
  const newSessions: Session[] = [];
  const publisher = await mqtt.connectAsync(url, { clientId: `sk-pub-${cycle}`, clean: true, reconnectPeriod: 0, protocolVersion: 4 });
  publisher.on('error', () => undefined);
  let n = 0;
  const publishing = setInterval(() => {
    const retained = n % 2 === 0;
    const topic = retained ? `sk/r/${cycle}/${n}` : `sk/q/${cycle}/${n}`;
    n++;
    const sentAt = Date.now();
    publisher.publish(topic, `${cycle}:${n}`, { qos: 1, retain: retained }, (error) => {
      if (!error) acks.set(topic, { sentAt, ackAt: Date.now() });
    });
  }, options.publishIntervalMs);
  let k = 0;
  let stopSessions = false;
  const makeSessions = (async () => {
    while (!stopSessions) {
      const id = `sk-s-${cycle}-${k++}`;
      try {
        const client = await mqtt.connectAsync(url, { clientId: id, clean: false, reconnectPeriod: 0, protocolVersion: 4 });
        client.on('error', () => undefined);
        await client.subscribeAsync('sk/q/#', { qos: 1 });
        await client.endAsync();
        if (!stopSessions) newSessions.push({ id, offlineAt: Date.now() });
      } catch {
        return; // the kill came in the middle: not acknowledged, not expected
      }
      await new Promise((resolve) => setTimeout(resolve, options.sessionIntervalMs));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, runMs));
  const killedAt = Date.now();
  stopSessions = true;
  await broker.kill();
  clearInterval(publishing);
  publisher.end(true);
  await makeSessions;
  return { acks, newSessions, killedAt };
}

function open(url: string, options: IClientOptions, onTopic: (topic: string) => void): Promise<{ client: MqttClient; present: boolean }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, protocolVersion: 4, connectTimeout: 10_000, ...options });
    client.on('message', (topic) => onTopic(topic));
    client.once('connect', (connack) => resolve({ client, present: connack.sessionPresent }));
    client.once('error', reject);
  });
}

/**
 * Collects until every `expected` topic arrived and then nothing more for `settleMs` (what came after them counts
 * too: the age of the oldest loss is measured on it), or nothing at all came for `quietMs`.
 */
async function until(seen: Set<string>, expected: string[], settleMs = 300, quietMs = 1000, maxMs = 15_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = seen.size;
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (seen.size !== last) {
      last = seen.size;
      quietSince = Date.now();
    }
    const quiet = Date.now() - quietSince;
    if (quiet > quietMs || (quiet > settleMs && expected.every((topic) => seen.has(topic)))) return;
  }
}

async function retainedTopics(url: string, expected: string[]): Promise<Set<string>> {
  const seen = new Set<string>();
  const { client } = await open(url, { clean: true, clientId: `sk-check-${Date.now()}` }, (topic) => seen.add(topic));
  await client.subscribeAsync('sk/r/#', { qos: 1 });
  await until(seen, expected);
  await client.endAsync();
  return seen;
}

async function drainSession(url: string, id: string, expected: string[]): Promise<{ present: boolean; topics: Set<string> }> {
  const seen = new Set<string>();
  const { client, present } = await open(url, { clean: false, clientId: id }, (topic) => seen.add(topic));
  await until(seen, present ? expected : []);
  await client.endAsync();
  return { present, topics: seen };
}

export function formatStoreKill(report: StoreKillReport): string {
  const line = (name: string, c: LossCount) =>
    `  ${name.padEnd(9)} ${c.acknowledged} acknowledged, ${c.old} of them more than the grace before a kill; lost: ${c.lost} of those, ${c.lostRecent} recent ones; oldest lost ${c.oldestLostMs} ms before its kill`;
  return [
    `${report.broker}: seed ${report.seed}, ${report.kills} SIGKILLs (after ${report.killedAfterMs.join(', ')} ms of load), ${report.restarts} restarts on the killed store`,
    line('retained', report.retained),
    line('queued', report.queued),
    line('sessions', report.sessions),
  ].join('\n');
}
