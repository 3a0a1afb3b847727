/** A password file that cannot be read or understood. `line` is 1-based; absent when the whole file is at fault. */
export class PasswordFileError extends Error {
  readonly file: string;
  readonly line: number | undefined;

  constructor(file: string, line: number | undefined, message: string, options: { cause?: unknown } = {}) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.file = file;
    this.line = line;
  }
}
