import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The node flags that the CLI's own first line (`#!/usr/bin/env -S node FLAGS`) gives it, so the benches start the
 * gateway as its `pi-edge-gateway` command runs.
 */
export function shebangNodeFlags(entry: string): string[] {
  const first = readFileSync(entry, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node((?:\s+--\S+)*)\s*$/.exec(first);
  return match?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
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
