/** One warning or error of the log, as the live page shows it. */
export interface LogEntry {
  /** Epoch ms. */
  time: number;
  level: 'warn' | 'error' | 'fatal';
  /** The child logger's module (`bridge`, `auth`…), when it has one. */
  module?: string;
  msg: string;
  /** A short extra: the logged error's message, or the sensor/bridge/client named. */
  detail?: string;
}

const LEVELS: Record<number, LogEntry['level']> = { 40: 'warn', 50: 'error', 60: 'fatal' };
/** Fields worth a glance next to the message; the rest stays in the journal. */
const DETAIL_KEYS = ['err', 'reason', 'sensor', 'output', 'input', 'bridge', 'connection', 'clientId', 'topic', 'host'];
const MAX_DETAIL = 200;

/**
 * The last warnings and errors of the log, in memory, for the page: a pino destination (given to createLogger as
 * `warnings`), so it sees lines after redaction and never holds a secret the journal would not. Bounded by count.
 */
export class RecentWarnings {
  private readonly entries: LogEntry[] = [];
  private readonly listeners = new Set<(entry: LogEntry) => void>();

  constructor(private readonly capacity = 50) {}

  /** pino writes one JSON line per call. */
  write(line: string): void {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const level = LEVELS[typeof parsed.level === 'number' ? parsed.level : 0];
    if (!level) return;
    const entry: LogEntry = { time: typeof parsed.time === 'number' ? parsed.time : Date.now(), level, msg: String(parsed.msg ?? '') };
    if (typeof parsed.module === 'string') entry.module = parsed.module;
    const detail = describeDetail(parsed);
    if (detail) entry.detail = detail;
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.shift();
    for (const listener of this.listeners) listener(entry);
  }

  list(): LogEntry[] {
    return [...this.entries];
  }

  /** Returns the function that stops listening. */
  onEntry(listener: (entry: LogEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function describeDetail(line: Record<string, unknown>): string | undefined {
  const parts: string[] = [];
  for (const key of DETAIL_KEYS) {
    const value = line[key];
    if (value === undefined || value === null) continue;
    const text = typeof value === 'object' ? String((value as { message?: unknown }).message ?? JSON.stringify(value)) : String(value);
    parts.push(`${key}: ${text}`);
  }
  const detail = parts.join(', ');
  return detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL - 1)}…` : detail || undefined;
}
