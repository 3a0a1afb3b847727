import { describe, expect, it } from 'vitest';
import { NackError } from '../../../src/drivers/errors.js';
import { SerializedI2cBus, serialize } from '../../../src/drivers/i2c/serialized-bus.js';
import { Bh1750Emulator } from '../../../mocks/chips/bh1750-emulator.js';
import { Bme280Emulator } from '../../../mocks/chips/bme280-emulator.js';
import { Sht3xEmulator } from '../../../mocks/chips/sht3x-emulator.js';
import { VirtualI2cBus } from '../../../mocks/i2c/virtual-bus.js';

function busWithChips(latencyMs: number): VirtualI2cBus {
  const bus = new VirtualI2cBus({ latencyMs });
  bus.attach(new Bme280Emulator());
  bus.attach(new Sht3xEmulator());
  bus.attach(new Bh1750Emulator());
  return bus;
}

async function hammer(bus: { readByte(a: number, c: number): Promise<number>; i2cWrite(a: number, l: number, b: Buffer): Promise<unknown> }) {
  const ops: Promise<unknown>[] = [];
  for (let i = 0; i < 10; i++) {
    ops.push(bus.readByte(0x76, 0xd0));
    ops.push(bus.i2cWrite(0x44, 2, Buffer.from([0x30, 0x41])));
    ops.push(bus.i2cWrite(0x23, 1, Buffer.from([0x01])));
  }
  await Promise.all(ops);
}

describe('SerializedI2cBus', () => {
  it('the unserialised virtual bus does overlap transfers (so the next test can fail)', async () => {
    const raw = busWithChips(2);
    await hammer(raw);
    expect(raw.maxConcurrent).toBeGreaterThan(1);
  });

  it('never has two transfers in flight, across devices', async () => {
    const raw = busWithChips(2);
    await hammer(new SerializedI2cBus(raw));
    expect(raw.maxConcurrent).toBe(1);
    expect(raw.transfers).toHaveLength(30);
    const sorted = [...raw.transfers].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start).toBeGreaterThanOrEqual(sorted[i - 1]!.end);
  });

  it('runs transfers in call order', async () => {
    const raw = busWithChips(0);
    const bus = new SerializedI2cBus(raw);
    await Promise.all([bus.readByte(0x76, 0xd0), bus.i2cWrite(0x44, 2, Buffer.from([0x30, 0x41])), bus.i2cWrite(0x23, 1, Buffer.from([0x01]))]);
    expect(raw.transfers.map((t) => t.address)).toEqual([0x76, 0x44, 0x23]);
  });

  it('a failed transfer does not block the queue', async () => {
    const bus = new SerializedI2cBus(busWithChips(0));
    const failed = bus.readByte(0x50, 0x00);
    const ok = bus.readByte(0x76, 0xd0);
    await expect(failed).rejects.toBeInstanceOf(NackError);
    await expect(ok).resolves.toBe(0x60);
  });

  it('exclusive() holds the bus for several transfers', async () => {
    const raw = busWithChips(1);
    const bus = new SerializedI2cBus(raw);
    const order: string[] = [];
    const held = bus.exclusive(async (inner) => {
      await inner.writeByte(0x76, 0xf5, 0x00);
      order.push('exclusive-1');
      await inner.readByte(0x76, 0xf5);
      order.push('exclusive-2');
    });
    const other = bus.readByte(0x76, 0xd0).then(() => order.push('other'));
    await Promise.all([held, other]);
    expect(order).toEqual(['exclusive-1', 'exclusive-2', 'other']);
    expect(raw.maxConcurrent).toBe(1);
  });

  it('close() waits for queued transfers and closes once', async () => {
    const raw = busWithChips(1);
    const bus = serialize(raw);
    expect(serialize(bus)).toBe(bus);
    const pending = bus.readByte(0x76, 0xd0);
    await bus.close();
    await bus.close();
    await expect(pending).resolves.toBe(0x60);
    await expect(raw.readByte(0x76, 0xd0)).rejects.toThrow(/closed/);
  });
});
