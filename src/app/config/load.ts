import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from 'yaml';
import type { z } from 'zod';
import { configSchema, type AppConfig } from './schema.js';
import { ConfigError, type ConfigProblem } from './errors.js';

export interface LoadedConfig {
  /** Absolute path of the file the config came from. */
  file: string;
  /** Relative paths inside the config are resolved against this directory. */
  baseDir: string;
  config: AppConfig;
  /** Where a key of the file is (its deepest part present), for problems found after validation (`check`). */
  locate?(keyPath: (string | number)[]): { line?: number; column?: number };
}

export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigError(file, [{ key: '', message: `cannot read the config: ${reason}` }]);
  }
  const { config, locate } = parseConfigWithPositions(text, file);
  return { file: absolute, baseDir: path.dirname(absolute), config, locate };
}

/** Parse and validate YAML text; every problem is reported at once, with its key path and line. */
export function parseConfig(text: string, file: string): AppConfig {
  return parseConfigWithPositions(text, file).config;
}

function parseConfigWithPositions(text: string, file: string): Pick<LoadedConfig, 'config' | 'locate'> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });

  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { key: '', line: pos.line, column: pos.col, message: `YAML syntax: ${e.message.split('\n')[0]}` };
      }),
    );
  }

  const raw: unknown = doc.toJS() ?? {};
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => toProblems(issue, doc, lineCounter));
    // In file order, so the report reads top to bottom like the file.
    problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
    throw new ConfigError(file, problems);
  }
  return { config: result.data, locate: (keyPath) => locate(doc, keyPath, lineCounter) };
}

function toProblems(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter): ConfigProblem[] {
  const keyPath = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const branch = issue.code === 'invalid_union' ? matchingBranch(issue.errors) : undefined;
  if (branch) {
    // A value of one of the union's types, wrong inside: report what is wrong there, not "Invalid input".
    return branch.flatMap((inner) => toProblems({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue, doc, lineCounter));
  }
  if (issue.code === 'unrecognized_keys') {
    // One problem per unknown key, at the key itself rather than at the object that holds it.
    return issue.keys.map((key) => ({
      key: formatKeyPath([...keyPath, key]),
      ...(locateKey(doc, keyPath, key, lineCounter) ?? locate(doc, keyPath, lineCounter)),
      message: `unknown key "${key}"`,
    }));
  }
  const position = locate(doc, keyPath, lineCounter);
  return [{ key: formatKeyPath(keyPath), ...position, message: describeIssue(issue) }];
}

/** Of a union's branches, the one the value had the type of (its problems are deeper than the value itself). */
function matchingBranch(branches: readonly (readonly z.core.$ZodIssue[])[]): readonly z.core.$ZodIssue[] | undefined {
  return branches.find((problems) => problems.length > 0 && problems.every((p) => p.path.length > 0 || p.code === 'custom'));
}

/** The position of `key` itself inside the mapping at `parentPath`. */
function locateKey(doc: Document, parentPath: (string | number)[], key: string, lineCounter: LineCounter): { line: number; column: number } | undefined {
  const parent: unknown = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((item) => (isScalar(item.key) ? String(item.key.value) === key : item.key === key));
  if (!isNode(pair?.key) || !pair.key.range) return undefined;
  const pos = lineCounter.linePos(pair.key.range[0]);
  return { line: pos.line, column: pos.col };
}

/** The line of the deepest node of `keyPath` present in the document (the parent, for a missing key). */
function locate(doc: Document, keyPath: (string | number)[], lineCounter: LineCounter): { line?: number; column?: number } {
  for (let depth = keyPath.length; depth >= 0; depth--) {
    const node: unknown = depth === 0 ? doc.contents : doc.getIn(keyPath.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return {};
}

export function formatKeyPath(keyPath: readonly (string | number)[]): string {
  return keyPath.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message.replace(/^Invalid input: /, '');
  }
}
