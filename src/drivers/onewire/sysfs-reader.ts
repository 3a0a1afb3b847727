import { readFile, readdir } from 'node:fs/promises';

/**
 * The two file operations sysfs readers need. Injected so tests can point at a temporary tree, or at a wrapper that
 * fails like the kernel does (ETIMEDOUT, EIO), which a plain file cannot.
 */
export interface SysfsReader {
  readFile(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
}

export const nodeSysfsReader: SysfsReader = {
  readFile: (path) => readFile(path, 'utf8'),
  readdir: (path) => readdir(path),
};
