import { readFile } from 'node:fs/promises';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/**
 * config/demo.yaml as `npm start` runs it, but on `port` and with its state in `stateDir`; its HTTP server on a port
 * the system picks, so runs side by side do not collide.
 */
export async function demoConfigText(port: number, stateDir: string): Promise<string> {
  const demo = await readFile(path.join(repoRoot, 'config', 'demo.yaml'), 'utf8');
  const text = demo
    .replace(/^(\s*port:\s*)1883\s*$/m, `$1${port}`)
    .replace(/^(\s*port:\s*)9188\s*$/m, (_line, key: string) => `${key}0`)
    .replace(/^(\s*state_dir:\s*).*$/m, `$1${JSON.stringify(stateDir)}`)
    .replace(/^# yaml-language-server.*$/m, '');
  if (!text.includes(`port: ${port}`)) throw new Error('config/demo.yaml: no `port: 1883` line to replace');
  return text;
}
