/**
 * What `certs` prints after issuing: the broker listener that serves the certificates, a bridge that trusts them,
 * and the mosquitto_sub lines that prove it. The YAML keys are those of src/broker/config.ts and src/bridge/config.ts.
 */
export interface ConfigLinesInput {
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** Name clients dial: `<hostname>.local` on a home network. */
  host: string;
  port: number;
  clients: readonly { name: string; cert: string; key: string }[];
}

const q = (text: string) => (/^[A-Za-z0-9_./@:-]+$/.test(text) ? text : JSON.stringify(text));
const sh = (text: string) => (/^[A-Za-z0-9_./@:=-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);

export function brokerListenerYaml(input: ConfigLinesInput): string {
  return [
    'broker:',
    '  listeners:',
    `    - { protocol: mqtts, host: 0.0.0.0, port: ${input.port},`,
    `        tls: { cert_file: ${q(input.serverCert)}, key_file: ${q(input.serverKey)}, ca_file: ${q(input.caCert)} } }`,
    '        # to accept only clients with a certificate from this CA, its CN as their username, add to tls:',
    '        #   require_certificate: true, use_identity_as_username: true',
  ].join('\n');
}

export function bridgeYaml(input: ConfigLinesInput, connection: string): string {
  const client = input.clients[0];
  const tls = client
    ? `tls: { cafile: ${q(input.caCert)}, certfile: ${q(client.cert)}, keyfile: ${q(client.key)} }`
    : `tls: { cafile: ${q(input.caCert)} }`;
  return ['bridges:', `  - connection: ${q(connection)}`, `    addresses: [${q(`${input.host}:${input.port}`)}]`, `    ${tls}`, "    topics: ['# out 1']"].join('\n');
}

export function mosquittoSubLines(input: ConfigLinesInput): string[] {
  const base = `mosquitto_sub --cafile ${sh(input.caCert)} -h ${sh(input.host)} -p ${input.port} -t '#' -v`;
  return [base, ...input.clients.map((c) => `${base} --cert ${sh(c.cert)} --key ${sh(c.key)}`)];
}
