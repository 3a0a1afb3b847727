import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { requireFromAedes } from '../../../src/broker/engine/aedes-internals.js';
import { checkPinnedVersions, EngineVersionError, installedVersions, PINNED_VERSIONS } from '../../../src/broker/engine/versions.js';

/** The directory of `name` as `require` (from where aedes or mqemitter is) resolves its package.json. */
function packageDir(require: NodeJS.Require, name: string): string {
  return realpathSync(path.dirname(require.resolve(`${name}/package.json`)));
}

describe('checkPinnedVersions', () => {
  it('passes on the installed tree, where every pinned package is found at its pinned version', () => {
    const installed = installedVersions();
    expect(Object.fromEntries(installed.map(({ name, version }) => [name, version]))).toEqual(PINNED_VERSIONS);
    expect(() => checkPinnedVersions()).not.toThrow();
  });

  it('refuses a wrong and a missing package in one error naming both, installed and pinned', () => {
    const installed = installedVersions().map((entry) => {
      if (entry.name === 'mqtt-packet') return { ...entry, version: '9.1.0' };
      if (entry.name === 'qlobber') return { ...entry, version: undefined, path: undefined };
      return entry;
    });
    let error: unknown;
    try {
      checkPinnedVersions(installed);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(EngineVersionError);
    const refused = error as EngineVersionError;
    expect(refused.mismatches.map((m) => m.name)).toEqual(['mqtt-packet', 'qlobber']);
    expect(refused.message).toContain(`mqtt-packet 9.1.0 (pinned: ${PINNED_VERSIONS['mqtt-packet']}`);
    expect(refused.message).toContain(`qlobber missing (pinned: ${PINNED_VERSIONS.qlobber}, at nowhere)`);
  });
});

describe('installedVersions', () => {
  // The packages that matter are the copies aedes loads, whatever npm hoisted: a second copy elsewhere in
  // node_modules at the right version must not hide a wrong one under aedes.
  const reported = new Map(installedVersions().map(({ name, path: where }) => [name, where && realpathSync(where)]));

  it('reports the aedes that this project imports', () => {
    const aedesEntry = fileURLToPath(import.meta.resolve('aedes'));
    expect(reported.get('aedes')).toBe(realpathSync(path.dirname(aedesEntry)));
  });

  it.each(['aedes-packet', 'aedes-persistence', 'mqemitter', 'mqtt-packet'] as const)('reports the %s that aedes itself resolves', (name) => {
    expect(reported.get(name)).toBe(packageDir(requireFromAedes, name));
  });

  it('reports the qlobber that mqemitter itself resolves', () => {
    const fromMqemitter = createRequire(requireFromAedes.resolve('mqemitter'));
    expect(reported.get('qlobber')).toBe(packageDir(fromMqemitter, 'qlobber'));
  });
});
