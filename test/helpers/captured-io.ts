import { PassThrough } from 'node:stream';

/** Standard streams for running a CLI command in-process, with what it wrote kept as text. */
export interface CapturedIo {
  stdin: PassThrough;
  stdout: PassThrough;
  stderr: PassThrough;
  out(): string;
  err(): string;
}

/** `input`, when given, is what the command reads from stdin (then end of file). */
export function capturedIo(input?: string): CapturedIo {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  if (input !== undefined) stdin.end(input);
  return { stdin, stdout, stderr, out: () => out, err: () => err };
}
