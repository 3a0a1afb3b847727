import type { BrokerKind } from './brokers.js';
import type { ScenarioResult } from './scenarios.js';

type Results = Record<BrokerKind, Record<string, ScenarioResult>>;

interface Column {
  label: string;
  value: (r: ScenarioResult) => number | undefined;
  digits: number;
  /** Whether the ratio ours/mosquitto is printed for this column. */
  ratio: boolean;
}

const COLUMNS: Column[] = [
  { label: 'msg/s', value: (r) => r.msgsPerSec, digits: 0, ratio: true },
  { label: 'p50 ms', value: (r) => r.p50Ms, digits: 2, ratio: true },
  { label: 'p99 ms', value: (r) => r.p99Ms, digits: 2, ratio: true },
  { label: 'lost', value: (r) => r.lost, digits: 0, ratio: false },
  { label: 'CPU µs/msg', value: (r) => r.cpuUsPerMsg, digits: 1, ratio: true },
  { label: 'broker CPU %', value: (r) => r.brokerCpuPct, digits: 0, ratio: false },
  { label: 'loadgen CPU %', value: (r) => r.loadgenCpuPct, digits: 0, ratio: false },
  { label: 'dup', value: (r) => r.duplicates, digits: 0, ratio: false },
  { label: 'reordered', value: (r) => r.reordered, digits: 0, ratio: false },
  { label: 'other CPU %', value: (r) => r.otherCpuPct, digits: 0, ratio: false },
  { label: 'steal CPU %', value: (r) => r.stealCpuPct, digits: 0, ratio: false },
  { label: 'alloc B/msg', value: (r) => r.allocBytesPerMsg, digits: 0, ratio: false },
  { label: 'RSS MiB', value: (r) => (r.rssKiB === undefined ? undefined : r.rssKiB / 1024), digits: 1, ratio: true },
  { label: 'KiB/conn', value: (r) => r.kibPerConnection, digits: 1, ratio: true },
  { label: 'replay ms', value: (r) => r.replayMs, digits: 0, ratio: true },
];

/** Figures that add up over runs; every other one is the median of the runs. */
const TOTALS = new Set<keyof ScenarioResult>(['lost', 'duplicates', 'reordered', 'sent']);

/** One result per scenario from several runs of it. */
export function combineRuns(runs: Record<string, ScenarioResult[]>): Record<string, ScenarioResult> {
  const combined: Record<string, ScenarioResult> = {};
  for (const [name, results] of Object.entries(runs)) {
    const keys = new Set(results.flatMap((r) => Object.keys(r) as (keyof ScenarioResult)[]));
    const result: ScenarioResult = {};
    for (const key of keys) {
      const values = results.map((r) => r[key]).filter((v): v is number => v !== undefined && !Number.isNaN(v));
      if (values.length === 0) continue;
      result[key] = TOTALS.has(key) ? values.reduce((a, b) => a + b, 0) : median(values);
    }
    combined[name] = result;
  }
  return combined;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const fmt = (v: number | undefined, digits: number) => (v === undefined || Number.isNaN(v) ? '' : v.toFixed(digits));

/**
 * A Markdown table: one row per scenario and metric, ours | mosquitto | ours/mosquitto, and node floor |
 * floor/mosquitto when the floor ran.
 */
export function formatTable(scenarios: string[], results: Results): string {
  const withFloor = Object.keys(results.floor).length > 0;
  const rows: string[][] = [['scenario', 'metric', 'ours', 'mosquitto', 'ours/mosq', ...(withFloor ? ['node floor', 'floor/mosq'] : [])]];
  const ratio = (column: Column, a: number | undefined, b: number | undefined) =>
    column.ratio && a !== undefined && b !== undefined && b !== 0 ? `${(a / b).toFixed(2)}×` : '';
  for (const name of scenarios) {
    const ours = results.ours[name];
    const mosq = results.mosquitto[name];
    const floor = results.floor[name];
    for (const column of COLUMNS) {
      const a = ours ? column.value(ours) : undefined;
      const b = mosq ? column.value(mosq) : undefined;
      const f = floor ? column.value(floor) : undefined;
      if (a === undefined && b === undefined && f === undefined) continue;
      const row = [name, column.label, fmt(a, column.digits), fmt(b, column.digits), ratio(column, a, b)];
      if (withFloor) row.push(fmt(f, column.digits), ratio(column, f, b));
      rows.push(row);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.slice(1).map(line)].join(
    '\n',
  );
}

export interface GoalCheck {
  goal: string;
  measured: string;
  pass: boolean;
}

/** The issue's goals, for the scenarios that ran. */
export function checkGoals(results: Results): GoalCheck[] {
  const checks: GoalCheck[] = [];
  const ours = results.ours;
  const mosq = results.mosquitto;
  const throughput = (name: string, min: number, label: string) => {
    const a = ours[name]?.msgsPerSec;
    const b = mosq[name]?.msgsPerSec;
    if (a === undefined || b === undefined) return;
    checks.push({ goal: `${label} throughput ≥ ${min}× mosquitto (${name})`, measured: `${(a / b).toFixed(2)}×`, pass: a / b >= min });
  };
  throughput('fanin-q1', 0.9, 'QoS 1');
  throughput('fanin-q0', 0.8, 'QoS 0');
  for (const name of Object.keys(ours).filter((n) => n.endsWith('-2k'))) {
    const a = ours[name]?.p99Ms;
    const b = mosq[name]?.p99Ms;
    if (a === undefined || b === undefined) continue;
    checks.push({ goal: `fixed-rate p99 < 1.5× mosquitto (${name})`, measured: `${a.toFixed(2)} / ${b.toFixed(2)} ms = ${(a / b).toFixed(2)}×`, pass: a / b < 1.5 });
  }
  const q1 = Object.entries(ours).filter(([n]) => n.includes('-q1'));
  if (q1.length > 0) {
    const lost = q1.reduce((sum, [, r]) => sum + (r.lost ?? 0), 0);
    checks.push({ goal: 'no QoS 1 message lost', measured: `${lost} lost in ${q1.map(([n]) => n).join(', ')}`, pass: lost === 0 });
  }
  const idle = ours.idle?.kibPerConnection;
  if (idle !== undefined) checks.push({ goal: 'under 20 KiB per idle connection', measured: `${idle.toFixed(1)} KiB`, pass: idle < 20 });
  return checks;
}

export function formatGoals(checks: GoalCheck[]): string {
  return ['Goals:', ...checks.map((c) => `  ${c.pass ? 'PASS' : 'FAIL'}  ${c.goal}: ${c.measured}`)].join('\n');
}
