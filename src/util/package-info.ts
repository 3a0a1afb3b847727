import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageInfo {
  name: string;
  version: string;
  root: string;
}

/** This package's name, version and root directory, found from the running file (src/ under tsx, dist/ when built). */
export function packageInfo(): PackageInfo {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pi-edge-gateway') return { name: pkg.name, version: pkg.version ?? '0.0.0', root: dir };
    }
    const parent = path.dirname(dir);
    if (parent === dir) return { name: 'pi-edge-gateway', version: '0.0.0', root: process.cwd() };
    dir = parent;
  }
}
