import { readFileSync } from 'node:fs';

/**
 * The node flags that the CLI's own first line (`#!/usr/bin/env -S node FLAGS`) gives it, so the benches start the
 * gateway as its `pi-edge-gateway` command runs.
 */
export function shebangNodeFlags(entry: string): string[] {
  const first = readFileSync(entry, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node((?:\s+--\S+)*)\s*$/.exec(first);
  return match?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}
