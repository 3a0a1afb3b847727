import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReferencedFiles } from '../../src/app/config/check-files.js';
import { ConfigError } from '../../src/app/config/errors.js';
import { loadConfigFile } from '../../src/app/config/load.js';
import { hashPassword } from '../../src/broker/auth/password-file.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { createTestPki, hasOpenssl, type TestPki } from '../helpers/tls.js';

// `check` must refuse what the broker would refuse at start: the TLS, password and ACL files its config names, each
// problem at the key that names the file, with the file's own line.

const repoRoot = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

let tmp: { dir: string; remove: () => Promise<void> };
let pki: TestPki;

beforeAll(async () => {
  tmp = await makeTempDir('pi-edge-check-');
  if (hasOpenssl) pki = await createTestPki(tmp.dir);
}, 60_000);
afterAll(async () => {
  await tmp.remove();
});

const file = (name: string) => path.join(tmp.dir, name);

async function config(name: string, broker: string[]): Promise<string> {
  const at = file(name);
  await writeFile(at, ['gateway:', '  id: check-gw', 'broker:', ...broker.map((l) => `  ${l}`), ''].join('\n'));
  return at;
}

async function problemsOf(configFile: string): Promise<string> {
  try {
    await checkReferencedFiles(await loadConfigFile(configFile));
    return '';
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.message;
  }
}

const tlsListener = (tls: Record<string, string | boolean>) => [
  'listeners:',
  `  - { protocol: mqtts, port: 8883, tls: { ${Object.entries(tls).map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : v}`).join(', ')} } }`,
];

describe('the files a config names', () => {
  it('a missing password file is named at its key', async () => {
    const c = await config('missing-pw.yaml', [`password_file: ${file('no-such-passwd')}`]);
    expect(await problemsOf(c)).toContain(`${c}:4:18  broker.password_file: ${file('no-such-passwd')}: cannot read password file (ENOENT)`);
  });

  it('a malformed password file line is named with its line', async () => {
    await writeFile(file('bad-passwd'), `good:${await hashPassword('pw', { iterations: 100 })}\nbroken-line-without-colon\n`);
    const c = await config('bad-pw.yaml', [`password_file: ${file('bad-passwd')}`]);
    expect(await problemsOf(c)).toMatch(new RegExp(`broker\\.password_file: ${file('bad-passwd')}:2: `));
  });

  it('a malformed ACL line is named with its line', async () => {
    await writeFile(file('bad-acl'), '# sensors\nuser sensor\ntopic write sensors/#\ntopic read a/+b\n');
    const c = await config('bad-acl.yaml', [`acl_file: ${file('bad-acl')}`]);
    expect(await problemsOf(c)).toMatch(new RegExp(`${c}:4:13  broker\\.acl_file: ${file('bad-acl')}:4: `));
  });

  it.skipIf(!hasOpenssl)('a key that is not the certificate\'s is refused', async () => {
    const c = await config('mismatch.yaml', tlsListener({ cert_file: pki.serverCert, key_file: pki.clientKey }));
    expect(await problemsOf(c)).toContain(`broker.listeners[0].tls.key_file: ${pki.clientKey}: the private key does not match the certificate in ${pki.serverCert}`);
  });

  it.skipIf(!hasOpenssl)('a certificate file that holds no certificate, and a key file that holds no key', async () => {
    await writeFile(file('not-a-cert.pem'), 'hello\n');
    await writeFile(file('not-a-key.pem'), 'hello\n');
    const c = await config('garbage.yaml', tlsListener({ cert_file: file('not-a-cert.pem'), key_file: file('not-a-key.pem') }));
    const problems = await problemsOf(c);
    expect(problems).toContain(`broker.listeners[0].tls.cert_file: ${file('not-a-cert.pem')}:1: no PEM certificate`);
    expect(problems).toContain(`broker.listeners[0].tls.key_file: ${file('not-a-key.pem')}:1: not a usable PEM private key`);
  });

  it.skipIf(!hasOpenssl)('a damaged certificate in a CA bundle is named by the line it starts on', async () => {
    const ca = await readFile(pki.caCert, 'utf8');
    const lines = ca.trimEnd().split('\n');
    // The second certificate of the bundle has a body line mangled.
    const damaged = [...lines, ...lines.map((l, i) => (i === 2 ? l.replace(/[A-Za-z]/g, '*') : l))];
    await writeFile(file('bundle.pem'), `${damaged.join('\n')}\n`);
    const c = await config('bundle.yaml', tlsListener({ cert_file: pki.serverCert, key_file: pki.serverKey, ca_file: file('bundle.pem') }));
    expect(await problemsOf(c)).toContain(`broker.listeners[0].tls.ca_file: ${file('bundle.pem')}:${lines.length + 1}: not a valid certificate`);
  });

  it.skipIf(!hasOpenssl)('good files pass', async () => {
    await writeFile(file('good-passwd'), `good:${await hashPassword('pw', { iterations: 100 })}\n`);
    await writeFile(file('good-acl'), 'user good\ntopic readwrite sensors/#\n');
    const c = await config('good.yaml', [
      `password_file: ${file('good-passwd')}`,
      `acl_file: ${file('good-acl')}`,
      ...tlsListener({ cert_file: pki.serverCert, key_file: pki.serverKey, ca_file: pki.caCert }),
    ]);
    expect(await problemsOf(c)).toBe('');
  });
});

describe('pi-edge-gateway check', { timeout: 120_000 }, () => {
  it('exits 78 and lists every broken file before anything starts', async () => {
    await writeFile(file('cli-acl'), 'topic sideways a/b c\n');
    const c = await config('cli.yaml', [`password_file: ${file('cli-missing-passwd')}`, `acl_file: ${file('cli-acl')}`]);
    const result = await run(process.execPath, ['--import', 'tsx', path.join('src', 'cli', 'main.ts'), 'check', '--config', c], {
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: '' },
    }).then(
      (ok) => ({ code: 0, ...ok }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(result.code).toBe(78);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`Invalid configuration ${c} (2 problems):`);
    expect(result.stderr).toContain(`${c}:4:18  broker.password_file: ${file('cli-missing-passwd')}: cannot read password file (ENOENT)`);
    expect(result.stderr).toContain(`${c}:5:13  broker.acl_file: ${file('cli-acl')}:1: `);
  });
});
