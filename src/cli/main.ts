#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4 --no-memory-reducer --expose-gc
// MALLOC_MMAP_THRESHOLD_ fixes glibc's threshold at its default (128 KiB) instead of letting it rise, up to 32 MiB,
// each time a large buffer is freed: then socket reads and partial packets come from the heap and, freed, stay in the
// process. After an attack of 80 half-sent 900 KB packets RSS stayed 53 MB up; with it, it came back within 1 MB
// (test/broker/hostile/memory.test.ts).
// --expose-gc: for the broker's MemoryReclaimer (src/broker/memory-reclaim.ts), which runs one full collection when RSS
// has grown and the memory reducer, off, would not: what a refused attack made the broker read is garbage until then.
// --max-semi-space-size=4 caps V8's young generation at 4 MiB per semi-space. V8 sizes it from the machine's memory:
// 16 MiB on the 24 GB machine the benches run on, less on a Pi with little RAM. After a burst of connections the
// larger one stays grown, and the idle broker kept ~26 KiB of RSS per connection instead of ~18 (bench/broker, idle
// scenario), for a CPU cost at full rate within the bench's noise.
// --no-memory-reducer: V8's memory reducer (made for idle browser tabs) takes a broker at a steady 40 msg/s for idle
// and runs a full mark-compact ~8 s later, with incremental steps of up to 8 ms on the main thread (--trace-gc,
// bench/broker fanout-q1-2k): the largest stalls of those runs. The ordinary GC heuristics still bound the heap.
// bench/ starts the gateway with the flags of this line.
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startApplication, type ApplicationMode } from '../app/application.js';
import { ConfigError } from '../app/config/errors.js';
import { configJsonSchema } from '../app/config/json-schema.js';
import { loadConfigFile, type LoadedConfig } from '../app/config/load.js';
import { createLogger } from '../util/logger.js';
import { packageInfo } from '../util/package-info.js';
import { parseCommandArgs, UsageError } from './args.js';
import { runPasswd } from './passwd.js';
import { runUntilSignalled } from './signals.js';

const USAGE = `Usage: pi-edge-gateway <command> [options]

Commands:
  run --config FILE       run the gateway: embedded broker, sensors, outputs
  broker --config FILE    run only the embedded MQTT broker
  check --config FILE     validate a config file and exit
  passwd [-c] [-b] [-D] FILE USER [PASSWORD]
                          manage a mosquitto-compatible password file
  schema [--out FILE]     print the config's JSON Schema
  version                 print the version
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
    case 'broker':
      return runApplication(rest, command);
    case 'check':
      return check(rest);
    case 'passwd':
      return runPasswd(rest, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    case 'schema':
      return schema(rest);
    case 'version':
    case '--version':
      console.log(packageInfo().version);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function configPath(argv: string[]): string {
  const { values } = parseCommandArgs(argv, { config: { type: 'string', short: 'c' } });
  if (!values.config) throw new UsageError('--config FILE is required');
  return values.config;
}

async function check(argv: string[]): Promise<number> {
  const file = configPath(argv);
  await loadConfigFile(file);
  console.log(`${file}: valid`);
  return 0;
}

function startLogging(loaded: LoadedConfig, what: string) {
  const { config, file } = loaded;
  const logger = createLogger({ level: config.log.level, pretty: config.log.pretty ?? process.stdout.isTTY });
  logger.info({ version: packageInfo().version, config: file }, `pi-edge-gateway ${what} starting`);
  return logger;
}

/** `run` and `broker`: the same composition root, the gateway off in `broker` mode. */
async function runApplication(argv: string[], mode: ApplicationMode): Promise<number> {
  const loaded = await loadConfigFile(configPath(argv));
  const logger = startLogging(loaded, mode === 'run' ? 'gateway' : 'broker');
  const application = await startApplication(loaded, { mode, logger, version: packageInfo().version });
  if (mode === 'run') printHowToWatch(loaded, application.broker.listenerNames()[0]);
  // Not `return 0`: main() sets process.exitCode from this, which would hide a failed stop.
  return runUntilSignalled(application, logger);
}

/** The two lines a new user wants after `npm start`. */
function printHowToWatch(loaded: LoadedConfig, listener: string | undefined): void {
  const match = listener && /^mqtt:\/\/(.+):(\d+)$/.exec(listener);
  if (!match) return;
  const [, host, port] = match;
  const base = loaded.config.gateway.base_topic;
  const output = loaded.config.outputs[0]?.name;
  console.log(`\nWatch it:    mosquitto_sub -h ${host} -p ${port} -t '${base}/#' -v`);
  if (output) console.log(`Command it:  mosquitto_pub -h ${host} -p ${port} -t '${base}/command' -m '{"${output}":"on"}'`);
  console.log('');
}

async function schema(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { out: { type: 'string', short: 'o' } });
  const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
  if (!values.out) {
    process.stdout.write(text);
    return 0;
  }
  await mkdir(path.dirname(values.out), { recursive: true });
  await writeFile(values.out, text);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`pi-edge-gateway: ${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else if (error instanceof ConfigError) {
      console.error(error.message);
      process.exitCode = 78; // EX_CONFIG: systemd will not restart-loop on a broken config with RestartPreventExitStatus
    } else {
      console.error(`pi-edge-gateway: ${(error as Error)?.message ?? String(error)}`);
      process.exitCode = 1;
    }
  },
);
