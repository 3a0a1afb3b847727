/** `--flag value` parsing with node:util's parseArgs, turning its errors into usage errors. */
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type StringOptions = Record<string, { type: 'string'; short?: string }>;

export function parseCommandArgs(argv: string[], options: StringOptions): { values: Record<string, string | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | undefined>, positionals };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
