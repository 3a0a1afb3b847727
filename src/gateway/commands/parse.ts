import { checkFreshness, parseTime } from './freshness.js';
import type { FreshnessPolicy } from './freshness.js';
import type { CommandErrorCode, CommandId, CommandResult, OutputAction, OutputActionKind } from './types.js';

export interface CommandParserOptions {
  /** Names of the configured outputs; commands naming anything else are refused. */
  outputs: Iterable<string>;
  /** Largest accepted payload in bytes (default 4096). */
  maxPayloadBytes?: number;
  /** Refuse commands whose `timestamp` is older than this many ms (default 60 000). `null`: no age limit. */
  maxAgeMs?: number | null;
  /** Tolerated clock difference for timestamps in the future, ms (default 5000). */
  maxFutureSkewMs?: number;
  /** Refuse commands without `timestamp` or `expires` (default false). */
  requireTimestamp?: boolean;
  /** Longest accepted timed command, ms (default 24 h). */
  maxDurationMs?: number;
}

/** Top-level keys of a gateway-wide command that are not output names; the config schema must refuse outputs named so. */
export const RESERVED_COMMAND_KEYS: readonly string[] = ['id', 'timestamp', 'expires'];

const SET_FIELDS = ['state', 'duration', 'timestamp', 'expires', 'id'];
const OUTPUT_OBJECT_FIELDS = ['state', 'duration'];
const MAX_ID_LENGTH = 128;
// setTimeout overflows above 2^31-1 ms and fires at once; no duration may come near it.
const TIMER_LIMIT_MS = 2_147_483_647;

const STATE_WORDS: Readonly<Record<string, OutputActionKind>> = {
  on: 'on',
  off: 'off',
  toggle: 'toggle',
  '1': 'on',
  '0': 'off',
  true: 'on',
  false: 'off',
};

type Payload = Uint8Array | string;

class Refusal {
  constructor(
    readonly code: CommandErrorCode,
    readonly message: string,
  ) {}
}

/**
 * Parses and validates command payloads. Pure: no I/O, `now` is passed in. Never throws, whatever the bytes.
 *
 *   <base>/<output>/set:  ON | OFF | TOGGLE | 1 | 0 | true | false  (case-insensitive, trimmed)
 *                         {"state":"ON","duration":5,"timestamp":"2025-01-31T12:00:00Z","expires":1738324800,"id":"a1"}
 *   <base>/command:       {"led":"on","relay":{"state":"off","duration":10},"id":"a1","timestamp":1738324800}
 */
export class CommandParser {
  private readonly outputs: ReadonlySet<string>;
  private readonly maxPayloadBytes: number;
  private readonly maxDurationMs: number;
  private readonly freshness: FreshnessPolicy;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(options: CommandParserOptions) {
    this.outputs = new Set(options.outputs);
    this.maxPayloadBytes = options.maxPayloadBytes ?? 4096;
    this.maxDurationMs = Math.min(options.maxDurationMs ?? 24 * 3_600_000, TIMER_LIMIT_MS);
    this.freshness = {
      maxAgeMs: options.maxAgeMs === null ? undefined : (options.maxAgeMs ?? 60_000),
      maxFutureSkewMs: options.maxFutureSkewMs ?? 5000,
      requireTimestamp: options.requireTimestamp ?? false,
    };
  }

  /** A payload received on `<base>/<output>/set`. */
  parseSet(output: string, payload: Payload, now: number): CommandResult {
    let id: CommandId | undefined;
    try {
      const text = this.decode(payload);
      const body = text.startsWith('{') ? this.parseJsonObject(text) : undefined;
      // Read the id first, so that every refusal, even for an unknown output, can be correlated.
      if (body) id = this.readId(body);
      if (!this.outputs.has(output)) throw new Refusal('unknown_output', `unknown output "${truncate(output)}"${this.knownOutputsHint()}`);
      if (body) {
        this.onlyFields(body, SET_FIELDS, 'set command');
        if (!('state' in body)) throw new Refusal('malformed', 'missing "state" (ON, OFF or TOGGLE)');
        const action = this.readAction(output, body.state, body.duration);
        this.checkTimes(body, now);
        return withId({ ok: true, actions: [action] }, id);
      }
      const word = text.startsWith('"') ? this.parseJson(text) : text;
      const action = this.readState(output, word);
      this.checkTimes({}, now);
      return { ok: true, actions: [{ output, action }] };
    } catch (error) {
      return this.failure(error, id);
    }
  }

  /** A payload received on the gateway-wide `<base>/command` topic. */
  parseGatewayCommand(payload: Payload, now: number): CommandResult {
    let id: CommandId | undefined;
    try {
      const text = this.decode(payload);
      const body = this.parseJsonObject(text);
      id = this.readId(body);
      const actions: OutputAction[] = [];
      for (const [key, value] of Object.entries(body)) {
        if (RESERVED_COMMAND_KEYS.includes(key)) continue;
        if (!this.outputs.has(key)) throw new Refusal('unknown_output', `unknown output "${truncate(key)}"${this.knownOutputsHint()}`);
        if (isPlainObject(value)) {
          this.onlyFields(value, OUTPUT_OBJECT_FIELDS, `output "${key}"`);
          if (!('state' in value)) throw new Refusal('malformed', `output "${key}": missing "state" (ON, OFF or TOGGLE)`);
          actions.push(this.readAction(key, value.state, value.duration));
        } else {
          actions.push(this.readAction(key, value, undefined));
        }
      }
      if (actions.length === 0) throw new Refusal('malformed', 'the command names no output, e.g. {"led":"on"}');
      this.checkTimes(body, now);
      return withId({ ok: true, actions }, id);
    } catch (error) {
      return this.failure(error, id);
    }
  }

  private decode(payload: Payload): string {
    const bytes = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength;
    if (bytes > this.maxPayloadBytes) throw new Refusal('payload_too_large', `payload is ${bytes} bytes, the limit is ${this.maxPayloadBytes}`);
    let text: string;
    try {
      text = typeof payload === 'string' ? payload : this.decoder.decode(payload);
    } catch {
      throw new Refusal('malformed', 'payload is not valid UTF-8');
    }
    text = text.trim();
    if (text.length === 0) throw new Refusal('malformed', 'empty payload');
    return text;
  }

  private parseJson(text: string): unknown {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new Refusal('malformed', `invalid JSON: ${(error as Error).message}`);
    }
  }

  private parseJsonObject(text: string): Record<string, unknown> {
    const value = this.parseJson(text);
    if (!isPlainObject(value)) throw new Refusal('malformed', `expected a JSON object, got ${describe(value)}`);
    return value;
  }

  private readId(body: Record<string, unknown>): CommandId | undefined {
    const id = body.id;
    if (id === undefined) return undefined;
    if (typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH) return id;
    if (typeof id === 'number' && Number.isFinite(id)) return id;
    throw new Refusal('malformed', `"id" must be a string of 1 to ${MAX_ID_LENGTH} characters or a number, got ${describe(id)}`);
  }

  private onlyFields(body: Record<string, unknown>, allowed: readonly string[], where: string): void {
    for (const key of Object.keys(body)) {
      if (!allowed.includes(key)) throw new Refusal('malformed', `${where}: unknown field "${truncate(key)}" (allowed: ${allowed.join(', ')})`);
    }
  }

  private readState(output: string, value: unknown): OutputActionKind {
    let action: OutputActionKind | undefined;
    if (typeof value === 'string') action = Object.hasOwn(STATE_WORDS, value.trim().toLowerCase()) ? STATE_WORDS[value.trim().toLowerCase()] : undefined;
    else if (typeof value === 'boolean') action = value ? 'on' : 'off';
    else if (value === 1 || value === 0) action = value === 1 ? 'on' : 'off';
    if (action === undefined) {
      throw new Refusal('invalid_value', `output "${output}": invalid state ${describe(value)}, expected ON, OFF, TOGGLE, 1, 0, true or false`);
    }
    return action;
  }

  private readAction(output: string, state: unknown, duration: unknown): OutputAction {
    const action = this.readState(output, state);
    if (duration === undefined) return { output, action };
    if (typeof duration !== 'number' || !Number.isFinite(duration) || duration <= 0) {
      throw new Refusal('invalid_value', `output "${output}": "duration" must be a positive number of seconds, got ${describe(duration)}`);
    }
    const durationMs = Math.round(duration * 1000);
    if (durationMs > this.maxDurationMs) {
      throw new Refusal('invalid_value', `output "${output}": duration ${duration} s exceeds the maximum of ${this.maxDurationMs / 1000} s`);
    }
    return { output, action, durationMs: Math.max(durationMs, 1) };
  }

  private checkTimes(body: Record<string, unknown>, now: number): void {
    const times: { timestampMs?: number; expiresMs?: number } = {};
    for (const field of ['timestamp', 'expires'] as const) {
      if (body[field] === undefined) continue;
      const parsed = parseTime(body[field]);
      if (!parsed.ok) throw new Refusal('invalid_value', `"${field}": ${parsed.reason}, got ${describe(body[field])}`);
      times[field === 'timestamp' ? 'timestampMs' : 'expiresMs'] = parsed.ms;
    }
    const verdict = checkFreshness(times, now, this.freshness);
    if (!verdict.ok) throw new Refusal(verdict.code, verdict.message);
  }

  private knownOutputsHint(): string {
    const names = [...this.outputs];
    if (names.length === 0) return ' (no outputs are configured)';
    return names.length <= 20 ? ` (known outputs: ${names.join(', ')})` : '';
  }

  private failure(error: unknown, id: CommandId | undefined): CommandResult {
    const refusal = error instanceof Refusal ? error : new Refusal('malformed', `could not process the command: ${String(error)}`);
    return withId({ ok: false, error: { code: refusal.code, message: refusal.message } }, id);
  }
}

function withId<T extends CommandResult>(result: T, id: CommandId | undefined): T {
  return id === undefined ? result : { ...result, id };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(truncate(value));
  return String(value);
}

function truncate(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
