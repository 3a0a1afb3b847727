/**
 * The names a server certificate must carry for clients to accept it: the machine's hostname, `<hostname>.local`
 * (mDNS, how other machines on a home network reach a Pi), `localhost`, and every address of every interface,
 * loopback included. Clients check the name or address they dialled against this list, so a missing one is a
 * refused handshake.
 */
import { isIP } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';

export type SubjectAltName = { type: 'DNS'; value: string } | { type: 'IP'; value: string };

export class SubjectAltNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubjectAltNameError';
  }
}

/** A DNS name with an optional leading `*.` wildcard label. */
const DNS_NAME = /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A `--san` value: an IPv4/IPv6 address, or a DNS name (an `IP:`/`DNS:` prefix is accepted, as openssl writes them). */
export function parseSubjectAltName(text: string): SubjectAltName {
  const value = text.replace(/^(IP|DNS):/i, '').trim();
  const prefix = /^(IP|DNS):/i.exec(text)?.[1]?.toUpperCase();
  if (prefix !== 'DNS' && isIP(value) !== 0) return { type: 'IP', value };
  if (prefix === 'IP') throw new SubjectAltNameError(`--san ${text}: expected an IPv4 or IPv6 address after IP:`);
  if (value.length > 253 || !DNS_NAME.test(value)) {
    throw new SubjectAltNameError(`--san ${text}: expected a DNS name (letters, digits, hyphens, dots) or an IP address`);
  }
  return { type: 'DNS', value: value.toLowerCase() };
}

export interface MachineIdentity {
  hostname: string;
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/** The machine's names and addresses, then `extra`, without duplicates. */
export function serverSubjectAltNames(machine: MachineIdentity, extra: readonly SubjectAltName[] = []): SubjectAltName[] {
  const names: SubjectAltName[] = [];
  const seen = new Set<string>();
  const add = (san: SubjectAltName) => {
    const key = `${san.type}:${san.value}`;
    if (seen.has(key)) return;
    seen.add(key);
    names.push(san);
  };
  const hostname = machine.hostname.toLowerCase();
  const short = hostname.split('.')[0] ?? hostname;
  for (const name of [hostname, short, `${short}.local`, 'localhost']) {
    if (name && DNS_NAME.test(name)) add({ type: 'DNS', value: name });
  }
  for (const infos of Object.values(machine.interfaces)) {
    for (const info of infos ?? []) add({ type: 'IP', value: info.address.replace(/%.*$/, '') });
  }
  for (const san of extra) add(san);
  return names;
}

/** openssl's `subjectAltName = ...` value. */
export function formatSubjectAltNames(names: readonly SubjectAltName[]): string {
  return names.map((n) => `${n.type}:${n.value}`).join(',');
}
