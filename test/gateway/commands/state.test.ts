import { describe, expect, it } from 'vitest';
import { binaryStatePayload, toLevel, toOnOff } from '../../../src/gateway/commands/state.js';

describe('binary state helpers', () => {
  it('maps levels and states both ways', () => {
    expect(toOnOff(1)).toBe('ON');
    expect(toOnOff(0)).toBe('OFF');
    expect(toLevel('ON')).toBe(1);
    expect(toLevel('OFF')).toBe(0);
    expect(JSON.stringify(binaryStatePayload('ON'))).toBe('{"state":"ON"}');
  });
});
