/** Where a line of a mosquitto config came from: the file (as mosquitto would open it) and its 1-based line. */
export interface SourceLine {
  file: string;
  line: number;
}

export function describeSource(where: SourceLine | undefined): string {
  if (!where) return '(defaults)';
  return where.line > 0 ? `${where.file}:${where.line}` : where.file;
}

/**
 * A mosquitto.conf that mosquitto itself would refuse (or that cannot be read): one problem, at its file and line,
 * naming the option and what was expected.
 */
export class MosquittoConfError extends Error {
  readonly where: SourceLine;
  readonly option: string | undefined;

  constructor(where: SourceLine, option: string | undefined, problem: string, options?: { cause?: unknown }) {
    super(`${describeSource(where)}: ${option ? `${option}: ` : ''}${problem}`, options);
    this.name = 'MosquittoConfError';
    this.where = where;
    this.option = option;
  }
}
