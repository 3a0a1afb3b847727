import { readFile } from 'node:fs/promises';
import { attackTcp, attackWs, delay, OUTCOMES, type AttackTiming, type Outcome, type Transport } from './attack.js';
import { Canary, type CanaryReport } from './canary.js';
import { FUZZ_KINDS, fuzzCase, type FuzzKind } from './generator.js';

/** A broker under attack: where it listens, and how to see it from outside. */
export interface FuzzTarget {
  name: string;
  tcpPort: number;
  /** ws://127.0.0.1:PORT/PATH, when it has a WebSocket listener. */
  wsUrl?: string;
  pid: number;
  /** False once the process has exited. */
  alive(): boolean;
}

export interface FuzzRunOptions extends AttackTiming {
  seed: number;
  /** Exactly this many cases, or as many as fit in `durationMs`. */
  cases?: number;
  durationMs?: number;
  /** Attacking connections open at once. */
  concurrency: number;
  /** After the attack, how long the broker gets to give memory back before the final RSS is read. */
  settleMs: number;
}

export interface FuzzFailure {
  index: number;
  seed: number;
  kind: FuzzKind | 'broker';
  transport?: Transport;
  reason: string;
}

export interface FuzzSummary {
  target: string;
  seed: number;
  attempts: number;
  durationMs: number;
  outcomes: Record<FuzzKind, Record<Outcome, number>>;
  failures: FuzzFailure[];
  canaries: CanaryReport[];
  rssKiB: { start: number; peak: number; final: number };
  alive: boolean;
}

/** Case `index` goes over WebSocket one time in three when the target has a WebSocket listener. */
export function transportOf(index: number, target: FuzzTarget): Transport {
  return target.wsUrl !== undefined && index % 3 === 2 ? 'ws' : 'tcp';
}

/**
 * Plays the seeded cases against a running broker with canaries connected throughout (over TCP, and over WebSocket
 * when it listens there), sampling the broker's RSS from /proc.
 */
export async function runFuzz(target: FuzzTarget, options: FuzzRunOptions): Promise<FuzzSummary> {
  const outcomes = Object.fromEntries(FUZZ_KINDS.map((kind) => [kind, Object.fromEntries(OUTCOMES.map((o) => [o, 0]))])) as FuzzSummary['outcomes'];
  const failures: FuzzFailure[] = [];
  const startRss = await rssKiB(target.pid);
  let peak = startRss;
  const sampler = setInterval(() => void rssKiB(target.pid).then((rss) => (peak = Math.max(peak, rss)), () => undefined), 100);

  const canaries = [new Canary(`mqtt://127.0.0.1:${target.tcpPort}`), ...(target.wsUrl ? [new Canary(target.wsUrl)] : [])];
  for (const canary of canaries) await canary.start();

  const started = Date.now();
  const deadline = options.durationMs === undefined ? Infinity : started + options.durationMs;
  let nextIndex = 0;
  let attempts = 0;
  const more = () => (options.cases === undefined || nextIndex < options.cases) && Date.now() < deadline && target.alive();
  const worker = async () => {
    while (more()) {
      const index = nextIndex++;
      const fuzz = fuzzCase(options.seed, index);
      const transport = transportOf(index, target);
      const result = transport === 'ws' ? await attackWs(target.wsUrl!, fuzz, options) : await attackTcp(target.tcpPort, fuzz, options);
      attempts++;
      outcomes[fuzz.kind][result.outcome]++;
      if (result.outcome === 'hung' || result.outcome === 'refused') {
        failures.push({ index, seed: fuzz.seed, kind: fuzz.kind, transport, reason: result.outcome === 'hung' ? `still open ${options.closeBoundMs} ms after the attacker closed` : 'connection refused' });
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const durationMs = Date.now() - started;

  const canaryReports = await Promise.all(canaries.map((canary) => canary.stop()));
  await delay(options.settleMs);
  clearInterval(sampler);
  const alive = target.alive();
  if (!alive) failures.push({ index: nextIndex - 1, seed: options.seed, kind: 'broker', reason: 'the broker process exited during the run' });
  const final = alive ? await rssKiB(target.pid) : NaN;
  return { target: target.name, seed: options.seed, attempts, durationMs, outcomes, failures, canaries: canaryReports, rssKiB: { start: startRss, peak, final }, alive };
}

export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
}

/** The summary as text: totals, then the outcome of each kind of attack. */
export function formatSummary(summary: FuzzSummary): string {
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  const served = summary.canaries.every((c) => c.lost === 0 && c.errors === 0);
  const lines = [
    `${summary.target}: seed ${summary.seed}, ${summary.attempts} attacks in ${(summary.durationMs / 1000).toFixed(1)} s, ${summary.failures.length} failures, broker ${summary.alive ? 'alive' : 'EXITED'}`,
    `  RSS start ${mib(summary.rssKiB.start)}, peak ${mib(summary.rssKiB.peak)}, final ${mib(summary.rssKiB.final)}`,
    ...summary.canaries.map(
      (c) => `  canary ${c.url}: ${c.acknowledged}/${c.published} acknowledged, ${c.received} delivered, ${c.lost} lost, longest gap ${c.maxGapMs} ms, ${c.errors} errors`,
    ),
    `  other clients served throughout: ${served ? 'yes' : 'NO'}`,
    `  ${'kind'.padEnd(24)}${OUTCOMES.map((o) => o.padStart(9)).join('')}`,
    ...FUZZ_KINDS.map((kind) => `  ${kind.padEnd(24)}${OUTCOMES.map((o) => String(summary.outcomes[kind][o]).padStart(9)).join('')}`),
    ...summary.failures.slice(0, 20).map((f) => `  FAILURE case ${f.index} (seed ${f.seed}, ${f.kind}${f.transport ? `, ${f.transport}` : ''}): ${f.reason}`),
  ];
  return lines.join('\n');
}
