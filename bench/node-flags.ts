import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The node flags that the CLI's own first line (`#!/usr/bin/env -S node FLAGS`) gives it, so the benches start the
 * gateway as its `pi-edge-gateway` command runs.
 */
export function shebangNodeFlags(entry: string): string[] {
  return shebangLine(entry)?.[2]?.trim().split(/\s+/).filter(Boolean) ?? [];
}

/** The environment that line sets for node (`env -S NAME=VALUE node ...`): glibc's malloc settings. */
export function shebangNodeEnv(entry: string): Record<string, string> {
  const assignments = shebangLine(entry)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
  return Object.fromEntries(assignments.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
}

function shebangLine(entry: string): RegExpExecArray | null {
  const first = readFileSync(entry, 'utf8').split('\n', 1)[0] ?? '';
  return /^#!\/usr\/bin\/env -S((?:\s+[A-Z_]+=\S*)*)\s+node((?:\s+--\S+)*)\s*$/.exec(first);
}

/**
 * Node's arguments to run our CLI as the benches do: the compiled `dist/` when built, else the sources through tsx,
 * with the CLI's own flags, and BENCH_NODE_FLAGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, `--trace-gc`) first.
 */
export function gatewayNodeArgs(root: string): string[] {
  const compiled = path.join(root, 'dist/src/cli/main.js');
  const source = path.join(root, 'src/cli/main.ts');
  const entry = existsSync(compiled) ? [...shebangNodeFlags(compiled), compiled] : [...shebangNodeFlags(source), '--import', 'tsx', source];
  const extra = process.env.BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? [];
  return [...extra, ...entry];
}

/** The environment our CLI's first line sets (glibc's malloc settings), for the benches that spawn it with node. */
export function gatewayNodeEnv(root: string): Record<string, string> {
  const compiled = path.join(root, 'dist/src/cli/main.js');
  return shebangNodeEnv(existsSync(compiled) ? compiled : path.join(root, 'src/cli/main.ts'));
}
