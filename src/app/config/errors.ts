export interface ConfigProblem {
  /** Dotted key path, e.g. `broker.listeners[0].port`; empty for the whole document. */
  key: string;
  line?: number;
  column?: number;
  message: string;
}

/** Everything wrong with one config file, found before anything starts. */
export class ConfigError extends Error {
  readonly file: string;
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, problems: readonly ConfigProblem[]) {
    super(formatProblems(file, problems));
    this.name = 'ConfigError';
    this.file = file;
    this.problems = problems;
  }
}

function formatProblems(file: string, problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => {
    const where = p.line === undefined ? file : `${file}:${p.line}${p.column === undefined ? '' : `:${p.column}`}`;
    return `  ${where}  ${p.key || '(document)'}: ${p.message}`;
  });
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return `Invalid configuration ${file} (${count}):\n${lines.join('\n')}`;
}
