/**
 * mosquitto.conf in, our config file out: read (parse-conf.ts), interpret with mosquitto's rules (interpret.ts),
 * convert (convert.ts), and write as YAML with a header naming the source and what was not carried over.
 */
import { Document } from 'yaml';
import { convertModel, type ConvertedConfig, type ConvertOptions } from './convert.js';
import { describeSource } from './errors.js';
import { interpretConf } from './interpret.js';
import type { ImportNote } from './model.js';
import { readMosquittoConf } from './parse-conf.js';

export interface ImportResult {
  /** The main mosquitto.conf, absolute. */
  source: string;
  config: ConvertedConfig;
  /** What could not be carried over, or is carried differently, in the order of the files and lines. */
  notes: ImportNote[];
  yaml: string;
}

export function formatNote(note: ImportNote): string {
  return `${describeSource(note)}: ${note.key}: ${note.message}`;
}

/** Reads and converts `file`; throws MosquittoConfError (with file and line) where mosquitto would refuse it. */
export async function importMosquittoConf(file: string, options: ConvertOptions): Promise<ImportResult> {
  const parsed = await readMosquittoConf(file);
  const { config, notes } = convertModel(interpretConf(parsed), options);
  const fileOrder = new Map<string, number>([[parsed.file, 0]]);
  for (const d of parsed.directives) if (!fileOrder.has(d.file)) fileOrder.set(d.file, fileOrder.size);
  const order = (note: ImportNote) => fileOrder.get(note.file) ?? fileOrder.size;
  const sorted = notes
    .map((note, index) => ({ note, index }))
    .sort((a, b) => order(a.note) - order(b.note) || a.note.line - b.note.line || a.index - b.index)
    .map(({ note }) => note);
  return { source: parsed.file, config, notes: sorted, yaml: renderYaml(config, parsed.file, sorted) };
}

/** The config as YAML, headed by where it came from and what it leaves out (notes never hold secrets). */
export function renderYaml(config: ConvertedConfig, source: string, notes: readonly ImportNote[]): string {
  const doc = new Document(config);
  const header = [
    ` Converted from ${source} by \`pi-edge-gateway import-mosquitto\`.`,
    ' Check it: pi-edge-gateway check --config THIS_FILE; run it: pi-edge-gateway broker --config THIS_FILE',
    ' The password and ACL files are mosquitto\'s own, used as they are.',
  ];
  if (notes.length > 0) {
    header.push('', ' Not carried over, or carried differently:');
    for (const note of notes) header.push(`   ${formatNote(note)}`);
  } else {
    header.push(' Everything was carried over.');
  }
  doc.commentBefore = header.join('\n');
  return doc.toString({ lineWidth: 0 });
}
