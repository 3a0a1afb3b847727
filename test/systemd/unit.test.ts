import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/temp-dir.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const unitFile = path.join(repoRoot, 'systemd', 'pi-edge-gateway.service');
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * `systemd-analyze verify` on a copy whose ExecStart names files that exist here (verify checks the binary), in a
 * temporary directory. verify exits 0 on an unknown directive and only warns, so any line it prints about the unit
 * counts as a failure too.
 */
async function verify(text: string, name = 'pi-edge-gateway.service'): Promise<{ ok: boolean; output: string }> {
  const temp = await makeTempDir('pi-edge-unit-');
  cleanups.push(temp.remove);
  const file = path.join(temp.dir, name);
  const runnable = text
    .replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `)
    .replace('/opt/pi-edge-gateway/dist/src/cli/main.js', path.join(repoRoot, 'src', 'cli', 'main.ts'));
  await writeFile(file, runnable);
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
  const output = `${result.stdout}${result.stderr}`;
  const aboutUnit = output.split('\n').filter((line) => line.includes(name) || line.includes(temp.dir));
  return { ok: result.status === 0 && aboutUnit.length === 0, output };
}

describe.skipIf(!hasAnalyze)('systemd/pi-edge-gateway.service under systemd-analyze verify', () => {
  it('passes without a warning', async () => {
    const result = await verify(await readFile(unitFile, 'utf8'));
    expect(result.ok, result.output).toBe(true);
  });

  it('the check fails on a misspelled directive and on a missing ExecStart binary', async () => {
    const text = await readFile(unitFile, 'utf8');
    const misspelled = await verify(text.replace('ProtectHome=yes', 'ProtectHomme=yes'));
    expect(misspelled.ok).toBe(false);
    expect(misspelled.output).toMatch(/Unknown key 'ProtectHomme'/);
    const missing = await verify(text.replace(/^ExecStart=\/usr\/bin\/node /m, 'ExecStart=/nonexistent/node '));
    expect(missing.ok).toBe(false);
  });
});

describe('what the unit says', () => {
  it('runs node with the flags of the CLI\'s shebang line, on the built CLI, and keeps the contract with the CLI', async () => {
    const text = await readFile(unitFile, 'utf8');
    const shebang = (await readFile(path.join(repoRoot, 'src', 'cli', 'main.ts'), 'utf8')).split('\n')[0]!;
    const [, assignments = '', flags = ''] = /^#!\/usr\/bin\/env -S((?:\s+[A-Z_]+=\S*)*)\s+node\s*(.*)$/.exec(shebang) ?? [];
    expect(text).toMatch(new RegExp(`^ExecStart=/usr/bin/node ${flags} /opt/pi-edge-gateway/dist/src/cli/main\\.js run --config /etc/pi-edge-gateway/config\\.yaml$`, 'm'));
    for (const assignment of assignments.trim().split(/\s+/).filter(Boolean)) expect(text.split('\n')).toContain(`Environment=${assignment}`);
    for (const line of ['Type=notify', 'NotifyAccess=main', 'ExecReload=/bin/kill -HUP $MAINPID', 'Restart=on-failure', 'RestartPreventExitStatus=78', 'User=pi-edge-gateway', 'SupplementaryGroups=gpio i2c', 'StateDirectory=pi-edge-gateway', 'ConfigurationDirectory=pi-edge-gateway', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'NoNewPrivileges=yes', 'DeviceAllow=char-gpiochip rw', 'DeviceAllow=char-i2c rw']) {
      expect(text.split('\n'), line).toContain(line);
    }
    expect(text).toMatch(/^WatchdogSec=\d+s$/m);
    // These would break GPIO: sysfs writes (ProtectKernelTunables) and the device nodes (PrivateDevices).
    expect(text).not.toMatch(/^ProtectKernelTunables=yes/m);
    expect(text).not.toMatch(/^PrivateDevices=yes/m);
  });
});
