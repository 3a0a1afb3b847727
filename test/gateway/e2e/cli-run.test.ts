import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasBinary, runProgram } from '../../helpers/mosquitto.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { demoConfigText } from '../../helpers/demo-config.js';
import { freePort } from '../../helpers/free-port.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const hasTsx = existsSync(path.join(repoRoot, 'node_modules', '.bin', 'tsx'));


/** config/demo.yaml as `npm start` runs it, on a free port and with its state in `dir`. */
async function demoConfig(dir: string, port: number): Promise<string> {
  const file = path.join(dir, 'demo.yaml');
  await writeFile(file, await demoConfigText(port, path.join(dir, 'state')));
  return file;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(!hasTsx || !hasBinary('mosquitto_sub'))('npm start (the demo config through the CLI)', () => {
  it('publishes a reading that mosquitto_sub sees within seconds, and SIGTERM exits 0', async () => {
    const temp = await makeTempDir('pi-edge-demo-');
    cleanups.push(temp.remove);
    const port = await freePort();
    const config = await demoConfig(temp.dir, port);

    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'cli', 'main.ts'), 'run', '--config', config], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    cleanups.push(() => void child.kill('SIGKILL'));
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    // mosquitto_sub may start before the broker listens: retry until it connects.
    let reading: string | undefined;
    // Generous: tsx compiles the sources at start, and CI runs this beside the rest of the suite on 2 cores.
    while (reading === undefined && Date.now() - started < 30_000) {
      const result = await runProgram('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'pi-edge/climate/state', '-C', '1', '-W', '4'], 6000);
      if (result.code === 0 && result.stdout.trim()) reading = result.stdout.trim();
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(reading, output).toBeDefined();
    const state = JSON.parse(reading!) as Record<string, unknown>;
    expect(state).toMatchObject({ units: { temperature: '°C', humidity: '%', pressure: 'hPa' } });
    expect(typeof state.temperature).toBe('number');
    expect(output).toContain(`mosquitto_sub -h 127.0.0.1 -p ${port} -t 'pi-edge/#' -v`);

    child.kill('SIGTERM');
    expect(await exited, output).toBe(0);
    expect(output).toMatch(/gateway stopped/);
  }, 60_000);
});
