/**
 * What `pi-edge-gateway --help` and `pi-edge-gateway help COMMAND` (or `COMMAND --help`) print: one page per command,
 * each with examples, and the exit codes every command shares. `certs` and `passwd` print their own pages (they
 * parse their own options); the overview names them.
 */

export const EXIT_CODES = `Exit codes:
  0   done (run/broker: stopped cleanly on SIGTERM or SIGINT)
  1   failed at run time: a port in use, a listener or bridge that could not start, a stop that did not finish
  2   usage error: unknown command or option
  78  configuration error (EX_CONFIG): the message names the file, the line, the key and what was expected;
      the systemd unit does not restart on it (RestartPreventExitStatus=78)
`;

export const OVERVIEW = `Usage: pi-edge-gateway <command> [options]

Commands:
  run --config FILE       run the gateway: embedded broker, bridges, sensors, outputs
  broker --config FILE    run only the embedded MQTT broker and its bridges (mosquitto's job)
  check --config FILE     validate a config file, and the files it names, and exit
  passwd [-c] [-b] [-D] FILE USER [PASSWORD]
                          manage a mosquitto-compatible password file
  certs [--dir DIR] [--client NAME] [--owner USER]
                          a local CA and TLS certificates for this machine
  import-mosquitto FILE [--out FILE]
                          convert a mosquitto.conf into a config file
  schema [--out FILE]     print the config's JSON Schema
  version                 print the version

\`pi-edge-gateway help COMMAND\` or \`pi-edge-gateway COMMAND --help\` shows a command's options and examples.

Examples:
  pi-edge-gateway run --config /etc/pi-edge-gateway/config.yaml
  pi-edge-gateway import-mosquitto /etc/mosquitto/mosquitto.conf --out config.yaml && pi-edge-gateway check -c config.yaml

${EXIT_CODES}`;

const RUN_OPTIONS = `Options:
  -c, --config FILE       the YAML config (required); relative paths in it are taken from its directory
  --log-level LEVEL       overrides log.level: fatal, error, warn, info, debug, trace or silent

Logs are JSON lines on standard output (journald keeps them), readable lines when standard output is a terminal.
Signals: SIGTERM/SIGINT stop gracefully (outputs to their fail-safe level, \`offline\` published, queues saved);
SIGHUP re-reads the password and ACL files and the bridges. Under systemd (NOTIFY_SOCKET set) it reports READY,
RELOADING and STOPPING and feeds the watchdog while healthy.`;

/** Help pages of the commands main.ts parses itself. */
export const COMMAND_HELP: Record<string, string> = {
  run: `Usage: pi-edge-gateway run --config FILE [--log-level LEVEL]

Runs the whole gateway: the embedded broker, the bridges to the cloud, the hardware (or its simulation, with
hardware.mode: simulated), sensors, inputs, outputs, Home Assistant discovery, and /healthz and /metrics when the
config has an http: section.

${RUN_OPTIONS}

Examples:
  pi-edge-gateway run --config config/demo.yaml                    # simulated hardware, broker on 127.0.0.1:1883
  pi-edge-gateway run -c /etc/pi-edge-gateway/config.yaml --log-level debug
`,
  broker: `Usage: pi-edge-gateway broker --config FILE [--log-level LEVEL]

Runs only the embedded MQTT broker and its bridges, as mosquitto would: no hardware is opened, and the config's
sensors, inputs and outputs are ignored.

${RUN_OPTIONS}

Examples:
  pi-edge-gateway broker --config config/broker.yaml
  pi-edge-gateway import-mosquitto /etc/mosquitto/mosquitto.conf --out broker.yaml && pi-edge-gateway broker -c broker.yaml
`,
  check: `Usage: pi-edge-gateway check --config FILE

Validates the config file (and what it names) without starting anything: prints "FILE: valid" and exits 0, or
one message naming the file, the line, the key and what was expected, and exits 78.

Examples:
  pi-edge-gateway check --config /etc/pi-edge-gateway/config.yaml
  pi-edge-gateway check -c config.yaml && sudo systemctl reload pi-edge-gateway
`,
  'import-mosquitto': `Usage: pi-edge-gateway import-mosquitto FILE [--out FILE]

Reads a mosquitto.conf (its include_dir files and connection blocks too) and writes the equivalent config for
\`pi-edge-gateway broker\`: listeners, TLS, password and ACL files (used as they are), persistence, limits, and
each bridge with its topic lines. What cannot be carried over is listed on standard error with file and line.
Exits 0 when converted (with or without notes), 78 when mosquitto itself would refuse the file.

Options:
  -o, --out FILE          write the config there (created 0600: it may hold a bridge's password) instead of stdout

Examples:
  pi-edge-gateway import-mosquitto /etc/mosquitto/mosquitto.conf
  sudo pi-edge-gateway import-mosquitto /etc/mosquitto/mosquitto.conf --out /etc/pi-edge-gateway/config.yaml
`,
  schema: `Usage: pi-edge-gateway schema [--out FILE]

Prints the config's JSON Schema, for editors that complete and check YAML (the shipped configs point to it with a
yaml-language-server comment).

Options:
  -o, --out FILE          write it there instead of standard output

Examples:
  pi-edge-gateway schema --out schema/config.schema.json
`,
  version: `Usage: pi-edge-gateway version   (or --version)

Prints the version.
`,
};

/** `COMMAND --help` or `-h` among a command's arguments. */
export function asksForHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}
