/**
 * The w1_therm `w1_slave` file:
 *   72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
 *   72 01 4b 46 7f ff 0e 10 57 t=23125
 * The kernel checked the scratchpad CRC (YES / NO); t= is milli-degrees Celsius.
 */
export interface W1SlaveReading {
  crcOk: boolean;
  /** Absent when the kernel printed no t= (some kernels on CRC failure). */
  milliCelsius: number | undefined;
  scratchpad: number[];
}

export function parseW1Slave(text: string): W1SlaveReading {
  const lines = text.trim().split('\n');
  const crcLine = /crc=([0-9a-f]{2})\s+(YES|NO)/i.exec(lines[0] ?? '');
  if (!crcLine) throw new SyntaxError(`unrecognised w1_slave content: ${JSON.stringify(text.slice(0, 80))}`);
  const t = /t=(-?\d+)/.exec(lines[1] ?? '');
  const scratchpad = (lines[0] ?? '')
    .split(':')[0]!
    .trim()
    .split(/\s+/)
    .map((byte) => parseInt(byte, 16));
  return { crcOk: crcLine[2]!.toUpperCase() === 'YES', milliCelsius: t ? Number(t[1]) : undefined, scratchpad };
}

/** Dallas/Maxim 1-Wire CRC-8 (x^8 + x^5 + x^4 + 1, reflected: 0x8C), as the kernel computes over the scratchpad. */
export function dallasCrc8(bytes: ArrayLike<number>): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) {
    let byte = bytes[i] as number;
    for (let bit = 0; bit < 8; bit++) {
      const mix = (crc ^ byte) & 0x01;
      crc >>= 1;
      if (mix) crc ^= 0x8c;
      byte >>= 1;
    }
  }
  return crc;
}
