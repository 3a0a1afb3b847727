import type { BitValue } from '../../drivers/types.js';
import type { OnOff } from './types.js';

export function toOnOff(level: BitValue): OnOff {
  return level === 1 ? 'ON' : 'OFF';
}

export function toLevel(state: OnOff): BitValue {
  return state === 'ON' ? 1 : 0;
}

/** The JSON published on an input's or output's `<base>/<device>/state` topic; discovery templates read `state`. */
export interface BinaryStatePayload {
  state: OnOff;
}

export function binaryStatePayload(state: OnOff): BinaryStatePayload {
  return { state };
}
