import { spawn, spawnSync } from 'node:child_process';

/**
 * The Prometheus project's own text-format parser, from Debian's python3-prometheus-client
 * (`prometheus_client.parser.text_string_to_metric_families`): the reference implementation, maintained with the
 * format, where the npm parsers are small unmaintained ports. Debian's interpreter is asked by path: a python3 of
 * pyenv or a venv earlier on PATH does not see Debian's packages.
 */
const CANDIDATES = ['/usr/bin/python3', 'python3'];

export const PROMETHEUS_PARSER = CANDIDATES.find((python) => spawnSync(python, ['-c', 'import prometheus_client.parser'], { stdio: 'ignore' }).status === 0);

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  /** As the parser names it: a counter's family without `_total`, its samples with it. */
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const SCRIPT = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": family.name, "type": family.type, "help": family.documentation,
                "samples": [{"name": s.name, "labels": s.labels,
                             "value": s.value if math.isfinite(s.value) else str(s.value)} for s in family.samples]})
json.dump(out, sys.stdout)
`;

/** Parses Prometheus text; rejects with the parser's own error when the text is not valid. */
export function parsePrometheusText(text: string): Promise<ParsedFamily[]> {
  if (!PROMETHEUS_PARSER) throw new Error('python3-prometheus-client is not installed');
  return new Promise((resolve, reject) => {
    const child = spawn(PROMETHEUS_PARSER, ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`prometheus parser refused the text: ${stderr.trim().split('\n').pop()}`));
      const families = JSON.parse(stdout) as ParsedFamily[];
      // Infinite values (le="+Inf" is a label, but a value can be +Inf too) come back as strings.
      for (const family of families) for (const sample of family.samples) sample.value = Number(sample.value);
      resolve(families);
    });
    child.stdin.end(text);
  });
}
