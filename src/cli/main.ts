#!/usr/bin/env node
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createBroker } from '../broker/index.js';
import { toBrokerOptions } from '../gateway/config/broker-options.js';
import { ConfigError } from '../gateway/config/errors.js';
import { configJsonSchema } from '../gateway/config/json-schema.js';
import { loadConfigFile } from '../gateway/config/load.js';
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
      return runBroker(rest);
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

async function runBroker(argv: string[]): Promise<number> {
  const { file, baseDir, config } = await loadConfigFile(configPath(argv));
  const info = packageInfo();
  const logger = createLogger({ level: config.log.level, pretty: config.log.pretty ?? process.stdout.isTTY });
  logger.info({ version: info.version, config: file }, 'pi-edge-gateway starting');
  const broker = createBroker(toBrokerOptions(config, baseDir, info.version), logger);
  await broker.start();
  await runUntilSignalled(broker, logger);
  return 0;
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
