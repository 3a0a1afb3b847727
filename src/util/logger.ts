import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LoggerSettings {
  level?: string;
  /** Human-readable output for a terminal; JSON lines otherwise (journald, log shippers). */
  pretty?: boolean;
  /** Also handed every warning and error line, after redaction (the live page's recent warnings). */
  warnings?: pino.DestinationStream;
}

/**
 * Keys whose values must never reach a log line, wherever they appear in a logged object.
 * Secrets enter the process through config (bridge credentials, TLS key passphrases) and MQTT CONNECT packets.
 */
const SECRET_KEYS = ['password', 'remote_password', 'passphrase', 'key', 'keyfile_password', 'token', 'authorization'];
/** pino's paths take one level per wildcard: each secret key at the top and up to three objects deep. */
const REDACTED_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]);

export function createLogger(settings: LoggerSettings = {}, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  const prettyOptions = { colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' };
  if (settings.warnings) {
    const main = destination ?? (settings.pretty ? pino.transport({ target: 'pino-pretty', options: prettyOptions }) : pino.destination(1));
    // The logger's level still decides what is written at all; each stream then takes its part.
    return pino(options, pino.multistream([{ level: 'trace', stream: main }, { level: 'warn', stream: settings.warnings }]));
  }
  if (settings.pretty && !destination) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: prettyOptions } });
  }
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that writes nowhere: for tests and library use without a host logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
