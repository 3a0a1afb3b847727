/**
 * The system's `openssl` command. Node's crypto makes keys but cannot issue X.509 certificates, and the npm libraries
 * that can (node-forge, @peculiar/x509) would be a new dependency for a one-off command; openssl is on every Raspberry
 * Pi OS and Debian image, and the certificates it makes are the ones mosquitto's own documentation makes.
 */
import { execFile } from 'node:child_process';

export class OpenSslMissingError extends Error {
  constructor(binary: string) {
    super(`"${binary}" was not found: the certs command needs the openssl command (sudo apt-get install openssl)`);
    this.name = 'OpenSslMissingError';
  }
}

export class OpenSslError extends Error {
  constructor(args: readonly string[], detail: string) {
    super(`openssl ${args[0] ?? ''} failed: ${detail.trim() || 'no output'}`);
    this.name = 'OpenSslError';
  }
}

export class OpenSsl {
  readonly #binary: string;

  constructor(binary = 'openssl') {
    this.#binary = binary;
  }

  /** Runs `openssl ...args` in `cwd` and resolves with its standard output. */
  run(args: readonly string[], cwd?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.#binary, args, { cwd, timeout: 60_000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
        if (!error) {
          resolve(stdout);
          return;
        }
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') reject(new OpenSslMissingError(this.#binary));
        else reject(new OpenSslError(args, stderr || error.message));
      });
    });
  }

  /** "OpenSSL 3.0.x ..." — also the check that the binary is there, before anything is written. */
  async version(): Promise<string> {
    return (await this.run(['version'])).trim();
  }
}
