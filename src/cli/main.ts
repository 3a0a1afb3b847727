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
import { checkReferencedFiles } from '../app/config/check-files.js';
import { ConfigError } from '../app/config/errors.js';
import { configJsonSchema } from '../app/config/json-schema.js';
import { loadConfigFile, type LoadedConfig } from '../app/config/load.js';
import { openSystemd } from '../app/systemd/systemd-integration.js';
import { createLogger } from '../util/logger.js';
import { packageInfo } from '../util/package-info.js';
import { RecentWarnings } from '../web/recent-warnings.js';
import { parseCommandArgs, UsageError } from './args.js';
import { CERTS_USAGE, runCerts } from './certs.js';
import { asksForHelp, COMMAND_HELP, EXIT_CODES, OVERVIEW } from './help.js';
import { runImportMosquitto } from './import-mosquitto.js';
import { runPasswd } from './passwd.js';
import { runUntilSignalled } from './signals.js';


async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const page = command === undefined ? undefined : COMMAND_HELP[command];
  if (page !== undefined && asksForHelp(rest)) {
    process.stdout.write(`${page}\n${EXIT_CODES}`);
    return 0;
  }
  switch (command) {
    case 'run':
    case 'broker':
      return runApplication(rest, command);
    case 'check':
      return check(rest);
    case 'passwd':
      return runPasswd(rest, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    case 'certs':
      return runCerts(rest, { stdout: process.stdout, stderr: process.stderr });
    case 'schema':
      return schema(rest);
    case 'import-mosquitto':
      return runImportMosquitto(rest, { stdout: process.stdout, stderr: process.stderr });
    case 'version':
    case '--version':
      console.log(packageInfo().version);
      return 0;
    case 'help':
      return help(rest[0]);
    case undefined:
    case '--help':
    case '-h':
      process.stdout.write(OVERVIEW);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function runArgs(argv: string[]): { config: string; logLevel: string | undefined } {
  const { values } = parseCommandArgs(argv, { config: { type: 'string', short: 'c' }, 'log-level': { type: 'string' } });
  if (!values.config) throw new UsageError('--config FILE is required');
  const logLevel = values['log-level'];
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level: one of ${LOG_LEVELS.join(', ')}`);
  return { config: values.config, logLevel };
}

/** `help [COMMAND]`. */
function help(command: string | undefined): number | Promise<number> {
  if (command === undefined) {
    process.stdout.write(OVERVIEW);
    return 0;
  }
  if (command === 'certs') {
    process.stdout.write(CERTS_USAGE);
    return 0;
  }
  if (command === 'passwd') return runPasswd(['--help'], { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
  const page = COMMAND_HELP[command];
  if (page === undefined) throw new UsageError(`no command "${command}"`);
  process.stdout.write(`${page}\n${EXIT_CODES}`);
  return 0;
}

function configPath(argv: string[]): string {
  return runArgs(argv).config;
}

async function check(argv: string[]): Promise<number> {
  const file = configPath(argv);
  // The files it names too (TLS, password, ACL): "valid" means the broker will start with it.
  await checkReferencedFiles(await loadConfigFile(file));
  console.log(`${file}: valid`);
  return 0;
}

function startLogging(loaded: LoadedConfig, what: string, levelOverride: string | undefined, warnings: RecentWarnings | undefined) {
  const { config, file } = loaded;
  // JSON lines for journald and log shippers; readable lines when a person runs it in a terminal.
  const logger = createLogger({ level: levelOverride ?? config.log.level, pretty: config.log.pretty ?? process.stdout.isTTY, ...(warnings ? { warnings } : {}) });
  logger.info({ version: packageInfo().version, config: file }, `pi-edge-gateway ${what} starting`);
  return logger;
}

/** `run` and `broker`: the same composition root, the gateway off in `broker` mode. */
async function runApplication(argv: string[], mode: ApplicationMode): Promise<number> {
  const args = runArgs(argv);
  const loaded = await loadConfigFile(args.config);
  // The live page lists the log's recent warnings: kept only when there is a page to show them.
  const warnings = loaded.config.http?.enabled && loaded.config.http.web.enabled ? new RecentWarnings() : undefined;
  const logger = startLogging(loaded, mode === 'run' ? 'gateway' : 'broker', args.logLevel, warnings);
  // Under systemd (NOTIFY_SOCKET set): READY=1, watchdog, STOPPING=1, RELOADING=1. Opened first: a watchdog that
  // cannot be fed fails the start now (exit 1) instead of a kill later.
  const systemd = await openSystemd({ env: process.env, logger });
  try {
    const application = await startApplication(loaded, { mode, logger, version: packageInfo().version, ...(warnings ? { warnings } : {}) });
    if (mode === 'run') printHowToWatch(loaded, application.broker.listenerNames()[0], application.http?.url());
    // Not `return 0`: main() sets process.exitCode from this, which would hide a failed stop.
    return await runUntilSignalled(systemd ? await systemd.running(application) : application, logger);
  } finally {
    systemd?.close();
  }
}

/** The lines a new user wants after `npm start`. */
function printHowToWatch(loaded: LoadedConfig, listener: string | undefined, page: string | undefined): void {
  const match = listener && /^mqtt:\/\/(.+):(\d+)$/.exec(listener);
  if (!match) return;
  const [, host, port] = match;
  const base = loaded.config.gateway.base_topic;
  const output = loaded.config.outputs[0]?.name;
  console.log('');
  if (page && loaded.config.http?.web.enabled) console.log(`See it:      ${page}/`);
  console.log(`Watch it:    mosquitto_sub -h ${host} -p ${port} -t '${base}/#' -v`);
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
      console.error(`pi-edge-gateway: ${error.message}\n\n${OVERVIEW}`);
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
