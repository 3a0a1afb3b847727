import { describe, expect, it } from 'vitest';
import { CommandParser } from '../../../src/gateway/commands/parse.js';
import type { CommandResult } from '../../../src/gateway/commands/types.js';

/** Deterministic xorshift32, so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

const FRAGMENTS = ['{', '}', '"', ':', ',', '[', ']', 'led', 'state', 'on', 'OFF', 'toggle', 'duration', 'timestamp', 'expires', 'id', '__proto__', '1e400', '-0', 'null', 'true', '\\u0000', '\u00ff', '2025-06-01T12:00:00Z', '9'.repeat(30)];

function assertWellFormed(result: CommandResult): void {
  expect(typeof result.ok).toBe('boolean');
  if (result.ok) {
    expect(result.actions.length).toBeGreaterThan(0);
    for (const action of result.actions) {
      expect(['led', 'relay']).toContain(action.output);
      expect(['on', 'off', 'toggle']).toContain(action.action);
      if (action.durationMs !== undefined) expect(action.durationMs).toBeGreaterThan(0);
    }
  } else {
    expect(result.error.message.length).toBeGreaterThan(0);
  }
}

describe('parser fuzzing', () => {
  const parser = new CommandParser({ outputs: ['led', 'relay'], maxPayloadBytes: 512 });
  const now = Date.parse('2025-06-01T12:00:00Z');

  it('never throws on random bytes', () => {
    const random = rng(0xc0ffee);
    for (let i = 0; i < 5000; i++) {
      const bytes = Buffer.alloc(Math.floor(random() * 600));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
      assertWellFormed(parser.parseSet('led', bytes, now));
      assertWellFormed(parser.parseGatewayCommand(bytes, now));
    }
  });

  it('never throws on random JSON-ish text', () => {
    const random = rng(42);
    for (let i = 0; i < 5000; i++) {
      const parts: string[] = [];
      const n = Math.floor(random() * 20);
      for (let j = 0; j < n; j++) parts.push(FRAGMENTS[Math.floor(random() * FRAGMENTS.length)]!);
      const text = parts.join('');
      assertWellFormed(parser.parseSet('relay', text, now));
      assertWellFormed(parser.parseGatewayCommand(text, now));
      assertWellFormed(parser.parseGatewayCommand(`{"led":${text}}`, now));
    }
  });

  it('survives deep nesting and non-JSON-safe values', () => {
    assertWellFormed(parser.parseGatewayCommand('['.repeat(400), now));
    assertWellFormed(parser.parseGatewayCommand(`{"led":${'{"state":'.repeat(40)}"on"${'}'.repeat(40)}}`, now));
    assertWellFormed(parser.parseSet('led', '{"state":"on","duration":1e400}', now));
    assertWellFormed(parser.parseSet('led', '{"state":"on","timestamp":1e400}', now));
  });
});
