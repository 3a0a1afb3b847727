/**
 * Bosch's compensation formulas for the BME280 / BMP280 (datasheet section 4.2.3, 8.2): the 32-bit integer
 * temperature, 64-bit integer pressure (BigInt) and 32-bit integer humidity versions. Pure, so the emulator can invert
 * them and tests can check the datasheet example.
 */

export interface Bme280Calibration {
  T1: number;
  T2: number;
  T3: number;
  P1: number;
  P2: number;
  P3: number;
  P4: number;
  P5: number;
  P6: number;
  P7: number;
  P8: number;
  P9: number;
  /** Humidity trim; absent on a BMP280. */
  H?: { H1: number; H2: number; H3: number; H4: number; H5: number; H6: number };
}

/** Arithmetic right shift without the int32 wrap of `>>`. */
const sar = (value: number, bits: number): number => Math.floor(value / 2 ** bits);

/** Registers 0x88..0xA1 (26 bytes) and, for a BME280, 0xE1..0xE7 (7 bytes). */
export function parseBme280Calibration(tp: Buffer, h?: Buffer): Bme280Calibration {
  if (tp.length < 24) throw new RangeError('calibration block 0x88.. needs 24 bytes');
  const calibration: Bme280Calibration = {
    T1: tp.readUInt16LE(0),
    T2: tp.readInt16LE(2),
    T3: tp.readInt16LE(4),
    P1: tp.readUInt16LE(6),
    P2: tp.readInt16LE(8),
    P3: tp.readInt16LE(10),
    P4: tp.readInt16LE(12),
    P5: tp.readInt16LE(14),
    P6: tp.readInt16LE(16),
    P7: tp.readInt16LE(18),
    P8: tp.readInt16LE(20),
    P9: tp.readInt16LE(22),
  };
  if (h) {
    if (tp.length < 26 || h.length < 7) throw new RangeError('humidity calibration needs 0xA1 and 0xE1..0xE7');
    const e4 = h.readUInt8(3);
    const e5 = h.readUInt8(4);
    const e6 = h.readUInt8(5);
    // H4 and H5 are signed 12-bit values sharing register 0xE5.
    const h4 = (e4 << 4) | (e5 & 0x0f);
    const h5 = (e6 << 4) | (e5 >> 4);
    calibration.H = {
      H1: tp.readUInt8(25),
      H2: h.readInt16LE(0),
      H3: h.readUInt8(2),
      H4: h4 & 0x800 ? h4 - 0x1000 : h4,
      H5: h5 & 0x800 ? h5 - 0x1000 : h5,
      H6: h.readInt8(6),
    };
  }
  return calibration;
}

/** Inverse of parseBme280Calibration, for emulators: [0x88..0xA1, 0xE1..0xE7]. */
export function encodeBme280Calibration(c: Bme280Calibration): [Buffer, Buffer] {
  const tp = Buffer.alloc(26);
  tp.writeUInt16LE(c.T1, 0);
  tp.writeInt16LE(c.T2, 2);
  tp.writeInt16LE(c.T3, 4);
  tp.writeUInt16LE(c.P1, 6);
  [c.P2, c.P3, c.P4, c.P5, c.P6, c.P7, c.P8, c.P9].forEach((v, i) => tp.writeInt16LE(v, 8 + 2 * i));
  const h = Buffer.alloc(7);
  if (c.H) {
    tp.writeUInt8(c.H.H1, 25);
    h.writeInt16LE(c.H.H2, 0);
    h.writeUInt8(c.H.H3, 2);
    const h4 = c.H.H4 & 0xfff;
    const h5 = c.H.H5 & 0xfff;
    h.writeUInt8(h4 >> 4, 3);
    h.writeUInt8(((h5 & 0x0f) << 4) | (h4 & 0x0f), 4);
    h.writeUInt8(h5 >> 4, 5);
    h.writeInt8(c.H.H6, 6);
  }
  return [tp, h];
}

/** Returns t_fine (needed by pressure and humidity) and the temperature in 0.01 °C. */
export function compensateTemperature(adcT: number, c: Bme280Calibration): { tFine: number; centiCelsius: number } {
  const var1 = sar((sar(adcT, 3) - c.T1 * 2) * c.T2, 11);
  const d = sar(adcT, 4) - c.T1;
  const var2 = sar(sar(d * d, 12) * c.T3, 14);
  const tFine = var1 + var2;
  return { tFine, centiCelsius: sar(tFine * 5 + 128, 8) };
}

/** Pressure in Pa as unsigned Q24.8 (divide by 256), or 0 when the calibration would divide by zero. */
export function compensatePressure(adcP: number, tFine: number, c: Bme280Calibration): number {
  let var1 = BigInt(tFine) - 128000n;
  let var2 = var1 * var1 * BigInt(c.P6);
  var2 = var2 + ((var1 * BigInt(c.P5)) << 17n);
  var2 = var2 + (BigInt(c.P4) << 35n);
  var1 = ((var1 * var1 * BigInt(c.P3)) >> 8n) + ((var1 * BigInt(c.P2)) << 12n);
  var1 = ((1n << 47n) + var1) * BigInt(c.P1) >> 33n;
  if (var1 === 0n) return 0;
  let p = 1048576n - BigInt(adcP);
  p = (((p << 31n) - var2) * 3125n) / var1;
  var1 = (BigInt(c.P9) * (p >> 13n) * (p >> 13n)) >> 25n;
  var2 = (BigInt(c.P8) * p) >> 19n;
  p = ((p + var1 + var2) >> 8n) + (BigInt(c.P7) << 4n);
  // Not truncated to 32 bits as in C: for valid input it fits, and out of range it stays monotonic (for the emulator).
  return Number(p);
}

/** Relative humidity as unsigned Q22.10 (divide by 1024), clamped to 0..100 %. */
export function compensateHumidity(adcH: number, tFine: number, c: Bme280Calibration): number {
  const h = c.H;
  if (!h) throw new Error('no humidity calibration (BMP280)');
  let v = tFine - 76800;
  v =
    sar(adcH * 16384 - h.H4 * 1048576 - h.H5 * v + 16384, 15) *
    sar((sar(sar(v * h.H6, 10) * (sar(v * h.H3, 11) + 32768), 10) + 2097152) * h.H2 + 8192, 14);
  v = v - sar(sar(sar(v, 15) * sar(v, 15), 7) * h.H1, 4);
  v = Math.min(Math.max(v, 0), 419430400);
  return sar(v, 12);
}
