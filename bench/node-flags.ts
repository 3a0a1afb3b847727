import { readFileSync } from 'node:fs';

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
