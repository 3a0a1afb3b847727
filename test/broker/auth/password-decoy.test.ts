import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PasswordFile, type PasswordHash } from '../../../src/broker/auth/password-file.js';

// An unknown user must cost what a known one with a wrong password costs, whatever iteration counts the file mixes
// (an old user at mosquitto 2.0's 101, the others at our 10000): otherwise the answer's time tells which names exist.

/** A $7$ line with random salt and hash: parsed, never computed (the verifier is injected). */
const line = (user: string, iterations: number): string =>
  `${user}:$7$${iterations}$${randomBytes(12).toString('base64')}$${randomBytes(64).toString('base64')}`;

function recordingFile(lines: string[]): { file: PasswordFile; costs: number[] } {
  const costs: number[] = [];
  const file = PasswordFile.parse(`${lines.join('\n')}\n`, '/etc/pw', {
    cacheSize: 0,
    verifyHash: async (hash: PasswordHash) => {
      costs.push(hash.type === '$7$' ? hash.iterations : 1);
      return false;
    },
  });
  return { file, costs };
}

describe('the decoy hash of unknown users', () => {
  it('costs what the users of the file cost, in the same proportions, when the first user is the odd one', async () => {
    const users = [line('legacy', 101), ...Array.from({ length: 9 }, (_, i) => line(`user${i}`, 10_000))];
    const { file, costs } = recordingFile(users);
    for (let i = 0; i < 1000; i++) expect(await file.verify(`ghost-${i}`, 'guess')).toBe(false);
    const expensive = costs.filter((c) => c === 10_000).length;
    // 9 users in 10 cost 10000: so do ~900 of 1000 unknown names (binomial, sd ~9.5); the old decoy copied the
    // first user, 101, for every one.
    expect(expensive).toBeGreaterThan(800);
    expect(expensive).toBeLessThan(980);
    expect(costs.filter((c) => c === 101).length).toBe(1000 - expensive);
  });

  it('costs the same every time for the same unknown name', async () => {
    const { file, costs } = recordingFile([line('a', 101), line('b', 5000), line('c', 10_000)]);
    for (let i = 0; i < 20; i++) await file.verify('mallory', 'guess');
    expect(new Set(costs).size).toBe(1);
  });

  it('uses a decoy with fresh salt and hash, never a user\'s own', async () => {
    const seen: PasswordHash[] = [];
    const text = `${line('only', 1000)}\n`;
    const file = PasswordFile.parse(text, '/etc/pw', {
      cacheSize: 0,
      verifyHash: async (hash: PasswordHash) => {
        seen.push(hash);
        return false;
      },
    });
    await file.verify('only', 'wrong');
    await file.verify('ghost', 'wrong');
    const [own, decoy] = seen;
    expect(decoy).toMatchObject({ type: '$7$', iterations: 1000 });
    expect(decoy!.salt.equals(own!.salt)).toBe(false);
    expect(decoy!.hash.equals(own!.hash)).toBe(false);
    expect(decoy!.salt.length).toBe(own!.salt.length);
  });
});
