import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';

import { formatSubjectAltNames, parseSubjectAltName, serverSubjectAltNames } from '../../../src/ops/certs/subject-alt-names.js';

const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
  ({ address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;

describe('subject alternative names', () => {
  it('covers the hostname, its short name and .local, localhost, every address, then --san, once each', () => {
    const names = serverSubjectAltNames(
      {
        hostname: 'Pi4.example.lan',
        interfaces: {
          lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
          wlan0: [iface('192.168.1.23', 'IPv4'), iface('fe80::1%wlan0', 'IPv6')],
          eth0: [iface('192.168.1.23', 'IPv4')],
        },
      },
      [parseSubjectAltName('mqtt.example.lan'), parseSubjectAltName('localhost'), parseSubjectAltName('10.0.0.5')],
    );
    expect(formatSubjectAltNames(names)).toBe(
      'DNS:pi4.example.lan,DNS:pi4,DNS:pi4.local,DNS:localhost,IP:127.0.0.1,IP:::1,IP:192.168.1.23,IP:fe80::1,DNS:mqtt.example.lan,IP:10.0.0.5',
    );
  });

  it.each([
    ['10.1.2.3', { type: 'IP', value: '10.1.2.3' }],
    ['IP:2001:db8::7', { type: 'IP', value: '2001:db8::7' }],
    ['DNS:Broker.Example.Lan', { type: 'DNS', value: 'broker.example.lan' }],
    ['*.example.lan', { type: 'DNS', value: '*.example.lan' }],
  ])('reads --san %s', (text, expected) => {
    expect(parseSubjectAltName(text)).toEqual(expected);
  });

  it.each(['under_score.lan', 'a..b', '-lead.lan', 'x,DNS:evil', 'IP:nope', 'a b'])('refuses --san %s', (text) => {
    expect(() => parseSubjectAltName(text)).toThrow(/--san/);
  });
});
