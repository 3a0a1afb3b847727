import { execFileSync, spawnSync } from 'node:child_process';
import { cp, lstat, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/temp-dir.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const isRoot = process.getuid?.() === 0;
const userExists = spawnSync('id', ['-u', 'pi-edge-gateway']).status === 0;

let temp: { dir: string; remove: () => Promise<void> };
let source: string;

/**
 * A source tree as a clone with its build: the repo's package files, config and systemd folder, and dist/ built
 * from the sources by the project's own build (tsc, into the temporary tree, so the checkout is left alone).
 */
beforeAll(async () => {
  temp = await makeTempDir('pi-edge-install-');
  source = path.join(temp.dir, 'source');
  await mkdir(source);
  for (const entry of ['package.json', 'package-lock.json', 'config', 'systemd', 'schema', 'docs']) await cp(path.join(repoRoot, entry), path.join(source, entry), { recursive: true });
  execFileSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(repoRoot, 'tsconfig.build.json'), '--outDir', path.join(source, 'dist')], { cwd: repoRoot, stdio: 'inherit' });
}, 300_000);
afterAll(async () => temp?.remove());

function install(prefix: string, ...args: string[]): string {
  return execFileSync('bash', [path.join(source, 'systemd', 'install.sh'), '--prefix', prefix, '--no-deps', ...args], { encoding: 'utf8', env: { ...process.env, NODE: process.execPath } });
}

/** Every path under `root` with its type, mode and (for files) content: what two runs must leave the same. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const info = await lstat(full);
      const key = path.relative(root, full);
      const mode = (info.mode & 0o7777).toString(8);
      if (info.isDirectory()) {
        out[key] = `dir ${mode} ${info.uid}:${info.gid}`;
        await walk(full);
      } else {
        out[key] = `file ${mode} ${info.uid}:${info.gid} ${info.isFile() ? (await readFile(full)).toString('base64').length : 'link'}:${info.isFile() ? (await readFile(full, 'utf8')).slice(0, 64) : ''}`;
      }
    }
  };
  await walk(root);
  return out;
}

const mode = async (file: string) => ((await stat(file)).mode & 0o7777).toString(8);

describe('systemd/install.sh --prefix', () => {
  it('installs the build, the unit with this node, a starting config 0640 and the state dir 0750; the installed CLI runs', async () => {
    const prefix = path.join(temp.dir, 'root-a');
    const output = install(prefix);
    const opt = path.join(prefix, 'opt', 'pi-edge-gateway');
    expect((await stat(path.join(opt, 'dist', 'src', 'cli', 'main.js'))).isFile()).toBe(true);
    expect(await mode(opt)).toBe('755');
    const unit = await readFile(path.join(prefix, 'etc', 'systemd', 'system', 'pi-edge-gateway.service'), 'utf8');
    expect(unit).toContain(`ExecStart=${process.execPath} --max-semi-space-size=4 --no-memory-reducer --expose-gc /opt/pi-edge-gateway/dist/src/cli/main.js run`);
    expect(await mode(path.join(prefix, 'etc', 'systemd', 'system', 'pi-edge-gateway.service'))).toBe('644');
    const command = path.join(prefix, 'usr', 'local', 'bin', 'pi-edge-gateway');
    expect(await mode(command)).toBe('755');
    expect(await readFile(command, 'utf8')).toContain(
      `exec env MALLOC_MMAP_THRESHOLD_=131072 ${process.execPath} --max-semi-space-size=4 --no-memory-reducer --expose-gc /opt/pi-edge-gateway/dist/src/cli/main.js "$@"`,
    );
    const config = path.join(prefix, 'etc', 'pi-edge-gateway', 'config.yaml');
    expect(await mode(config)).toBe('640');
    expect(await mode(path.dirname(config))).toBe('750');
    expect(await mode(path.join(prefix, 'var', 'lib', 'pi-edge-gateway'))).toBe('750');
    expect(await readFile(config, 'utf8')).toContain('state_dir: /var/lib/pi-edge-gateway');

    // Nothing outside the prefix: the user, the owners and systemctl are only said.
    expect(output).toMatch(/would: systemctl daemon-reload/);
    expect(output).toMatch(/would: systemctl enable pi-edge-gateway/);
    if (isRoot && userExists) {
      expect((await stat(config)).gid).toBe(Number(execFileSync('id', ['-g', 'pi-edge-gateway'], { encoding: 'utf8' })));
      expect((await stat(path.join(prefix, 'var', 'lib', 'pi-edge-gateway'))).uid).toBe(Number(execFileSync('id', ['-u', 'pi-edge-gateway'], { encoding: 'utf8' })));
    } else {
      expect(output).toContain(`would: chown root:pi-edge-gateway ${config}`);
      expect(output).toContain(`would: chown pi-edge-gateway:pi-edge-gateway ${path.join(prefix, 'var', 'lib', 'pi-edge-gateway')}`);
      expect(output).toMatch(/would: create system user pi-edge-gateway/);
    }

    // The installed tree is complete enough to run: its CLI validates the starting config (node_modules from the
    // repo stand in for the `npm ci --omit=dev` that --no-deps skipped).
    await symlink(path.join(repoRoot, 'node_modules'), path.join(opt, 'node_modules'));
    const check = spawnSync(process.execPath, [path.join(opt, 'dist', 'src', 'cli', 'main.js'), 'check', '--config', config], { encoding: 'utf8' });
    expect(check.stdout + check.stderr).toContain(`${config}: valid`);
    expect(check.status).toBe(0);
  }, 120_000);

  it('a second run leaves the same files, and an existing config is kept byte for byte', async () => {
    const prefix = path.join(temp.dir, 'root-b');
    install(prefix);
    const config = path.join(prefix, 'etc', 'pi-edge-gateway', 'config.yaml');
    const mine = '# mine\ngateway: { id: my-pi }\n\u00e9\r\n';
    await writeFile(config, mine);
    const before = await snapshot(prefix);
    const output = install(prefix);
    expect(output).toContain(`keeping the existing ${config}`);
    expect(await snapshot(prefix)).toEqual(before);
    expect(await readFile(config, 'utf8')).toBe(mine);
  }, 120_000);

  it('uninstall.sh removes the unit and the build, keeps config and state unless --purge', async () => {
    const prefix = path.join(temp.dir, 'root-c');
    install(prefix);
    const uninstall = (...args: string[]) => execFileSync('bash', [path.join(source, 'systemd', 'uninstall.sh'), '--prefix', prefix, ...args], { encoding: 'utf8' });
    expect(uninstall()).toMatch(/would: systemctl disable --now pi-edge-gateway/);
    expect(await readdir(path.join(prefix, 'opt'))).toEqual([]);
    expect(await readdir(path.join(prefix, 'etc', 'systemd', 'system'))).toEqual([]);
    expect(await readdir(path.join(prefix, 'usr', 'local', 'bin'))).toEqual([]);
    expect(await readdir(path.join(prefix, 'etc', 'pi-edge-gateway'))).toEqual(['config.yaml']);
    expect((await stat(path.join(prefix, 'var', 'lib', 'pi-edge-gateway'))).isDirectory()).toBe(true);
    uninstall('--purge');
    expect(await readdir(path.join(prefix, 'etc'))).toEqual(['systemd']);
    expect(await readdir(path.join(prefix, 'var', 'lib'))).toEqual([]);
  }, 120_000);

  it('refuses a node older than 20.19, saying which and where', async () => {
    const fake = path.join(temp.dir, 'old-node');
    await writeFile(fake, '#!/bin/sh\nif [ "$1" = -p ]; then echo 18.19.0; else exit 1; fi\n', { mode: 0o755 });
    const result = spawnSync('bash', [path.join(source, 'systemd', 'install.sh'), '--prefix', path.join(temp.dir, 'root-d'), '--no-deps'], { encoding: 'utf8', env: { ...process.env, NODE: fake } });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`node 18.19.0 at ${fake} is too old: pi-edge-gateway needs 20.19 or newer`);
  });
});
