import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { W1Tree } from '../../../mocks/sysfs/w1-tree.js';

let tree: W1Tree | undefined;
afterEach(async () => {
  await tree?.cleanup();
  tree = undefined;
});

describe('W1Tree', () => {
  it('keeps w1_master_slaves in step with attached and vanished devices, ids seeded', async () => {
    tree = await W1Tree.create({ seed: 3 });
    const slaves = () => readFile(join(tree!.devicesDir, 'w1_bus_master1', 'w1_master_slaves'), 'utf8');
    expect(await slaves()).toBe('not found.\n');
    const a = await tree.addDs18b20({ temperature: 20 });
    expect(a.id).toMatch(/^28-[0-9a-f]{12}$/);
    expect(await slaves()).toBe(`${a.id}\n`);
    await a.disconnect();
    expect(await slaves()).toBe('not found.\n');
    await a.reconnect();
    expect(await slaves()).toBe(`${a.id}\n`);
    const again = await W1Tree.create({ seed: 3 });
    expect((await again.addDs18b20()).id).toBe(a.id);
    await again.cleanup();
  });

  it('9-bit resolution truncates to 0.5 °C steps', async () => {
    tree = await W1Tree.create();
    const d = await tree.addDs18b20({ temperature: 21.8, resolution: 9 });
    expect(await tree.fs.readFile(join(d.dir, 'temperature'))).toBe('21500\n');
  });
});
