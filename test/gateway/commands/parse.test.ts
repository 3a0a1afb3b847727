import { describe, expect, it } from 'vitest';
import { CommandParser } from '../../../src/gateway/commands/parse.js';
import type { CommandParserOptions } from '../../../src/gateway/commands/parse.js';
import type { CommandResult } from '../../../src/gateway/commands/types.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const parser = (options: Partial<CommandParserOptions> = {}) => new CommandParser({ outputs: ['led', 'relay', 'pump'], ...options });

function errorCode(result: CommandResult): string | undefined {
  return result.ok ? undefined : result.error.code;
}

function errorMessage(result: CommandResult): string {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result)}`);
  return result.error.message;
}

describe('set topic payloads', () => {
  it.each([
    ['ON', 'on'],
    ['off', 'off'],
    ['  Toggle\n', 'toggle'],
    ['1', 'on'],
    ['0', 'off'],
    ['TRUE', 'on'],
    ['false', 'off'],
    ['"on"', 'on'],
    ['{"state":"ON"}', 'on'],
    ['{"state":"toggle"}', 'toggle'],
    ['{"state":true}', 'on'],
    ['{"state":0}', 'off'],
  ])('accepts %j as %s', (payload, action) => {
    expect(parser().parseSet('led', payload, NOW)).toEqual({ ok: true, actions: [{ output: 'led', action }] });
  });

  it('accepts Buffers', () => {
    expect(parser().parseSet('led', Buffer.from('OFF'), NOW)).toEqual({ ok: true, actions: [{ output: 'led', action: 'off' }] });
  });

  it('reads a timed command with a correlation id', () => {
    expect(parser().parseSet('relay', '{"state":"ON","duration":5,"id":"abc"}', NOW)).toEqual({
      ok: true,
      actions: [{ output: 'relay', action: 'on', durationMs: 5000 }],
      id: 'abc',
    });
    expect(parser().parseSet('relay', '{"state":"ON","duration":0.25}', NOW)).toMatchObject({ actions: [{ durationMs: 250 }] });
  });

  it.each([
    ['', 'malformed', /empty payload/],
    ['   ', 'malformed', /empty payload/],
    ['ONN', 'invalid_value', /output "led": invalid state "ONN", expected ON, OFF, TOGGLE/],
    ['2', 'invalid_value', /invalid state "2"/],
    ['{"state":"ON"', 'malformed', /invalid JSON/],
    ['{"State":"ON"}', 'malformed', /unknown field "State" \(allowed: state, duration, timestamp, expires, id\)/],
    ['{"state":"ON","duraton":5}', 'malformed', /unknown field "duraton"/],
    ['{"duration":5}', 'malformed', /missing "state"/],
    ['{"state":"ON","duration":-1}', 'invalid_value', /"duration" must be a positive number of seconds, got -1/],
    ['{"state":"ON","duration":"5"}', 'invalid_value', /got "5"/],
    ['{"state":"ON","duration":90000}', 'invalid_value', /exceeds the maximum of 86400 s/],
    ['{"state":2}', 'invalid_value', /invalid state 2/],
    ['{"state":null}', 'invalid_value', /invalid state null/],
    ['{"state":"ON","id":{}}', 'malformed', /"id" must be a string/],
    ['"ON', 'malformed', /invalid JSON/],
  ])('refuses %j as %s', (payload, code, message) => {
    const result = parser().parseSet('led', payload, NOW);
    expect(errorCode(result)).toBe(code);
    expect(errorMessage(result)).toMatch(message);
  });

  it('refuses unknown outputs, listing the known ones', () => {
    const result = parser().parseSet('fan', 'ON', NOW);
    expect(errorCode(result)).toBe('unknown_output');
    expect(errorMessage(result)).toBe('unknown output "fan" (known outputs: led, relay, pump)');
  });

  it('echoes the id on refusals when the id itself was valid', () => {
    expect(parser().parseSet('led', '{"state":"ONN","id":7}', NOW)).toMatchObject({ ok: false, id: 7, error: { code: 'invalid_value' } });
  });

  it('refuses invalid UTF-8 and oversized payloads', () => {
    expect(errorCode(parser().parseSet('led', Buffer.from([0x4f, 0xff, 0x4e]), NOW))).toBe('malformed');
    const big = parser({ maxPayloadBytes: 16 }).parseSet('led', `{"state":"ON","id":"${'x'.repeat(20)}"}`, NOW);
    expect(errorCode(big)).toBe('payload_too_large');
    expect(errorMessage(big)).toMatch(/is 42 bytes, the limit is 16/);
  });
});

describe('gateway command payloads', () => {
  it('reads several outputs, case-insensitive values, objects with durations, and the id', () => {
    const result = parser().parseGatewayCommand('{"led":"on","relay":"OFF","pump":{"state":"On","duration":10},"id":"r-1"}', NOW);
    expect(result).toEqual({
      ok: true,
      id: 'r-1',
      actions: [
        { output: 'led', action: 'on' },
        { output: 'relay', action: 'off' },
        { output: 'pump', action: 'on', durationMs: 10_000 },
      ],
    });
  });

  it('refuses the whole command when one output is unknown or invalid', () => {
    const unknown = parser().parseGatewayCommand('{"led":"on","fan":"on","id":"x"}', NOW);
    expect(unknown).toMatchObject({ ok: false, id: 'x', error: { code: 'unknown_output' } });
    expect(errorMessage(unknown)).toMatch(/unknown output "fan"/);
    const invalid = parser().parseGatewayCommand('{"led":"on","relay":"maybe"}', NOW);
    expect(invalid).toMatchObject({ ok: false, error: { code: 'invalid_value', message: expect.stringMatching(/output "relay": invalid state "maybe"/) } });
  });

  it.each([
    ['ON', /invalid JSON/],
    ['"ON"', /expected a JSON object, got "ON"/],
    ['[1]', /expected a JSON object, got an array/],
    ['null', /got null/],
    ['{}', /names no output/],
    ['{"id":"only"}', /names no output/],
    ['{"led":{"state":"on","timestamp":1}}', /output "led": unknown field "timestamp" \(allowed: state, duration\)/],
    ['{"led":{"duration":3}}', /output "led": missing "state"/],
  ])('refuses %j as malformed', (payload, message) => {
    const result = parser().parseGatewayCommand(payload, NOW);
    expect(errorCode(result)).toBe('malformed');
    expect(errorMessage(result)).toMatch(message);
  });

  it('is not fooled by __proto__ keys', () => {
    expect(errorCode(parser().parseGatewayCommand('{"__proto__":"on"}', NOW))).toBe('unknown_output');
    expect(errorCode(parser().parseGatewayCommand('{"constructor":"on"}', NOW))).toBe('unknown_output');
  });
});

describe('freshness', () => {
  const iso = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

  it('accepts a recent timestamp in ISO, epoch seconds and epoch milliseconds', () => {
    for (const timestamp of [JSON.stringify(iso(-5000)), String((NOW - 5000) / 1000), String(NOW - 5000), `"${(NOW - 5000) / 1000}"`]) {
      expect(parser().parseSet('led', `{"state":"ON","timestamp":${timestamp}}`, NOW).ok).toBe(true);
    }
  });

  it('refuses a command older than the maximum age', () => {
    const result = parser({ maxAgeMs: 30_000 }).parseGatewayCommand(`{"led":"on","timestamp":"${iso(-3_600_000)}","id":"q"}`, NOW);
    expect(result).toMatchObject({ ok: false, id: 'q', error: { code: 'expired' } });
    expect(errorMessage(result)).toBe('command is 3600 s old (timestamp 2025-06-01T11:00:00.000Z), older than the maximum age 30 s');
  });

  it('accepts old timestamps when the age limit is disabled', () => {
    expect(parser({ maxAgeMs: null }).parseSet('led', `{"state":"ON","timestamp":"${iso(-86_400_000)}"}`, NOW).ok).toBe(true);
  });

  it('refuses a command past its expiry and accepts one before it', () => {
    const expired = parser().parseSet('led', `{"state":"ON","expires":${(NOW - 1000) / 1000}}`, NOW);
    expect(errorCode(expired)).toBe('expired');
    expect(errorMessage(expired)).toMatch(/expired at 2025-06-01T11:59:59.000Z, 1 s ago/);
    expect(parser().parseSet('led', `{"state":"ON","expires":"${iso(1000)}"}`, NOW).ok).toBe(true);
    expect(errorCode(parser().parseGatewayCommand(`{"led":"on","expires":${NOW}}`, NOW))).toBe('expired');
  });

  it('refuses timestamps too far in the future', () => {
    const result = parser({ maxFutureSkewMs: 2000 }).parseSet('led', `{"state":"ON","timestamp":"${iso(60_000)}"}`, NOW);
    expect(errorCode(result)).toBe('future_timestamp');
    expect(errorMessage(result)).toMatch(/60 s in the future \(allowed clock skew 2 s\)/);
    expect(parser({ maxFutureSkewMs: 2000 }).parseSet('led', `{"state":"ON","timestamp":"${iso(1500)}"}`, NOW).ok).toBe(true);
  });

  it.each(['"2025-06-01 12:00:00"', '"2025-06-01T12:00:00"', '"yesterday"', '-5', 'true', '"2025-13-45T99:00:00Z"'])('refuses timestamp %s as invalid_value', (timestamp) => {
    const result = parser().parseSet('led', `{"state":"ON","timestamp":${timestamp}}`, NOW);
    expect(errorCode(result)).toBe('invalid_value');
    expect(errorMessage(result)).toMatch(/^"timestamp": /);
  });

  it('can require a timestamp, also for plain payloads', () => {
    const strict = parser({ requireTimestamp: true });
    expect(errorCode(strict.parseSet('led', 'ON', NOW))).toBe('missing_timestamp');
    expect(errorCode(strict.parseGatewayCommand('{"led":"on"}', NOW))).toBe('missing_timestamp');
    expect(strict.parseGatewayCommand(`{"led":"on","expires":"${iso(5000)}"}`, NOW).ok).toBe(true);
  });
});
