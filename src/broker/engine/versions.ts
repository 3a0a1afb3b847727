import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerError } from '../errors.js';

/**
 * The exact versions the engine was written and tested against. It reads and replaces private fields of each
 * (aedes-internals.ts lists them, test/broker/engine/contract.test.ts checks them by name), so any other version
 * is an untested fork: package.json pins these, its `overrides` make the copies aedes itself loads the same, and
 * the broker refuses to start on anything else.
 */
export const PINNED_VERSIONS = {
  aedes: '1.2.0',
  'aedes-packet': '4.0.1',
  'aedes-persistence': '11.0.0',
  mqemitter: '7.1.0',
  'mqtt-packet': '9.0.2',
  qlobber: '8.0.1',
} as const;

export type PinnedPackage = keyof typeof PINNED_VERSIONS;

/** Thrown at start when an installed package is not the version the engine is pinned to. */
export class EngineVersionError extends BrokerError {
  constructor(readonly mismatches: readonly VersionMismatch[]) {
    const list = mismatches.map((m) => `${m.name} ${m.installed ?? 'missing'} (pinned: ${m.pinned}, at ${m.path ?? 'nowhere'})`).join('; ');
    super(
      `the MQTT engine patches aedes internals and runs only on the versions it is pinned to; installed: ${list}. ` +
        'Reinstall with `npm ci` from the project, or install the pinned versions.',
    );
  }
}

export interface VersionMismatch {
  name: PinnedPackage;
  pinned: string;
  installed: string | undefined;
  path: string | undefined;
}

/**
 * The copies aedes loads: aedes is resolved from here, everything else from aedes (qlobber from mqemitter), as Node
 * would resolve them at run time, whatever npm hoisted.
 */
export function installedVersions(): { name: PinnedPackage; version: string | undefined; path: string | undefined }[] {
  const aedesEntry = fileURLToPath(import.meta.resolve('aedes'));
  const fromAedes = createRequire(aedesEntry);
  const mqemitterEntry = fromAedes.resolve('mqemitter');
  const entries: [PinnedPackage, () => string][] = [
    ['aedes', () => aedesEntry],
    ['aedes-packet', () => fromAedes.resolve('aedes-packet')],
    ['aedes-persistence', () => fromAedes.resolve('aedes-persistence')],
    ['mqemitter', () => mqemitterEntry],
    ['mqtt-packet', () => fromAedes.resolve('mqtt-packet')],
    ['qlobber', () => createRequire(mqemitterEntry).resolve('qlobber')],
  ];
  return entries.map(([name, entry]) => {
    let manifest: string | undefined;
    try {
      manifest = packageJsonOf(entry(), name);
    } catch {
      manifest = undefined;
    }
    const version = manifest ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version : undefined;
    return { name, version, path: manifest && path.dirname(manifest) };
  });
}

/** Refuses, with every mismatch in one message, unless each installed package is the pinned version. */
export function checkPinnedVersions(installed = installedVersions()): void {
  const mismatches = installed
    .filter(({ name, version }) => version !== PINNED_VERSIONS[name])
    .map(({ name, version, path: where }) => ({ name, pinned: PINNED_VERSIONS[name], installed: version, path: where }));
  if (mismatches.length > 0) throw new EngineVersionError(mismatches);
}

/** The package.json of the package `name` that `file` belongs to (its `exports` may hide `name/package.json`). */
function packageJsonOf(file: string, name: string): string | undefined {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate) && (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name === name) return candidate;
  }
  return undefined;
}
