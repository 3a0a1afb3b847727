import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';

/**
 * Runs aedes' own test suite (node_modules/aedes/test/*.js) against the engine: each file in a node process with
 * tsx, register.mjs (which gives the suite aedes-adapter.ts as its aedes) and json-reporter.mjs. One process per
 * file, so a result's file is known and a file that cannot load fails alone.
 *
 * By hand: `npx tsx test/broker/engine/aedes-suite/run-suite.ts [file.js ...]` prints every result and a count.
 */

export const REPO_ROOT = path.resolve(import.meta.dirname, '../../../..');
export const SUITE_DIR = path.join(REPO_ROOT, 'node_modules', 'aedes', 'test');
const HERE = import.meta.dirname;

/** Files of the suite not run, and why. */
export const EXCLUDED_FILES: Readonly<Record<string, string>> = {
  'drain-toxiproxy.js': 'needs a toxiproxy server and toxiproxy-node-client, not installed; plain aedes cannot run it here either',
  'helper.js': 'not tests: the suite\'s helpers',
};

export type Status = 'pass' | 'fail' | 'skip' | 'todo';

export interface TestResult {
  file: string;
  name: string;
  status: Status;
  error?: string;
}

export function suiteFiles(): string[] {
  return readdirSync(SUITE_DIR)
    .filter((file) => file.endsWith('.js') && !(file in EXCLUDED_FILES))
    .sort();
}

/** The results of one file; a file that reports no test at all is one failure named after the file. */
export function runFile(file: string): Promise<TestResult[]> {
  const args = [
    '--import',
    'tsx',
    '--import',
    path.join(HERE, 'register.mjs'),
    `--test-reporter=${path.join(HERE, 'json-reporter.mjs')}`,
    path.join(SUITE_DIR, file),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const results: TestResult[] = [];
      for (const line of stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        const row = JSON.parse(line) as Omit<TestResult, 'file'>;
        results.push({ file, ...row });
      }
      if (results.length === 0) results.push({ file, name: file, status: 'fail', error: `no test reported (exit ${code}): ${stderr.slice(-2000)}` });
      resolve(results);
    });
  });
}

/** Every file, `concurrency` at a time: most of the suite waits on timers and sockets, not on the CPU. */
export async function runSuite(files = suiteFiles(), concurrency = Math.max(2, availableParallelism())): Promise<TestResult[]> {
  const results: TestResult[][] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const index = next++;
      results[index] = await runFile(files[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return results.flat();
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const started = Date.now();
  const results = await runSuite(process.argv.length > 2 ? process.argv.slice(2) : undefined);
  for (const r of results) process.stdout.write(`${r.status.padEnd(4)}  ${r.file}  ${r.name}${r.error ? `  -- ${r.error.split('\n')[0]}` : ''}\n`);
  const count = (status: Status) => results.filter((r) => r.status === status).length;
  process.stdout.write(
    `\n${results.length} tests: ${count('pass')} pass, ${count('fail')} fail, ${count('skip')} skip, ${count('todo')} todo in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
      `excluded files: ${Object.keys(EXCLUDED_FILES).join(', ')}\n`,
  );
}
