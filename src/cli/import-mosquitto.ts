/**
 * `pi-edge-gateway import-mosquitto FILE [--out FILE]`: a mosquitto.conf as our config file, on standard output or in
 * FILE, with what could not be carried over on standard error, one line each. Exit codes: 0 converted (warnings or
 * not), 78 (EX_CONFIG) for a mosquitto.conf that cannot be read or that mosquitto would refuse, 2 for a usage error.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../app/config/errors.js';
import { parseConfig } from '../app/config/load.js';
import { MosquittoConfError } from '../ops/mosquitto-import/errors.js';
import { formatNote, importMosquittoConf } from '../ops/mosquitto-import/import-conf.js';
import { parseCommandArgs, UsageError } from './args.js';

export interface ImportIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Defaults to this machine's: mosquitto's default bridge client id contains it. */
  hostname?: string;
}

export const EX_CONFIG = 78;

export async function runImportMosquitto(argv: string[], io: ImportIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { out: { type: 'string', short: 'o' } });
  if (positionals.length !== 1) throw new UsageError('import-mosquitto takes one mosquitto.conf: import-mosquitto FILE [--out FILE]');
  const file = positionals[0]!;
  let result;
  try {
    result = await importMosquittoConf(file, { hostname: io.hostname ?? os.hostname() });
  } catch (error) {
    if (!(error instanceof MosquittoConfError)) throw error;
    io.stderr.write(`pi-edge-gateway import-mosquitto: ${error.message}\n`);
    return EX_CONFIG;
  }
  // The result must be a config we load: a failure here is a bug of the import, not of the operator's file.
  try {
    parseConfig(result.yaml, out(values.out));
  } catch (error) {
    if (error instanceof ConfigError) throw new Error(`the converted config does not validate (a bug of import-mosquitto): ${error.message}`);
    throw error;
  }
  for (const note of result.notes) io.stderr.write(`${formatNote(note)}\n`);
  if (values.out) {
    await mkdir(path.dirname(path.resolve(values.out)), { recursive: true });
    // A bridge's remote_password is in it: readable by its owner only, like mosquitto's own files should be.
    await writeFile(values.out, result.yaml, { mode: 0o600 });
    io.stderr.write(`${values.out}: written from ${result.source} (${result.notes.length === 0 ? 'everything carried over' : `${result.notes.length} note${result.notes.length === 1 ? '' : 's'} above`})\n`);
  } else {
    io.stdout.write(result.yaml);
  }
  return 0;
}

function out(file: string | undefined): string {
  return file ?? '<standard output>';
}
