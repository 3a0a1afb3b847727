import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runPasswd } from '../../src/cli/passwd.js';
import { loopbackListener, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { hasBinary, mosquittoClientsSupportWebSockets, runProgram, waitUntil, type ProcessResult } from '../helpers/mosquitto.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { createTestPki, hasOpenssl, type TestPki } from '../helpers/tls.js';

const hasClients = hasBinary('mosquitto_pub') && hasBinary('mosquitto_sub');
const wsSupported = await mosquittoClientsSupportWebSockets();

describe.skipIf(!hasClients)('interop with mosquitto_pub / mosquitto_sub', () => {
  let broker: TestBroker | undefined;
  let dir: string;
  let removeDir: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, remove: removeDir } = await makeTempDir('pi-edge-mosq-'));
  });
  afterAll(async () => {
    await removeDir?.();
  });
  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
  });

  const port = () => String(broker!.ports[0]);

  /** Starts `mosquitto_sub -C count` and resolves once the broker has its subscription; `done` settles when it exits. */
  async function subscribe(clientId: string, topic: string, extra: string[] = [], count = 1): Promise<{ done: Promise<ProcessResult> }> {
    const result = runProgram('mosquitto_sub', ['-h', '127.0.0.1', '-p', port(), '-i', clientId, '-t', topic, '-C', String(count), '-W', '15', ...extra]);
    await Promise.race([
      waitUntil(() => broker!.broker.stats.subscriptions.get(clientId)?.has(topic) ?? false, `${clientId} to subscribe to ${topic}`),
      result.then((r) => Promise.reject(new Error(`mosquitto_sub exited early (${r.code}): ${r.stderr}`))),
    ]);
    return { done: result };
  }

  const pub = (args: string[]) => runProgram('mosquitto_pub', ['-h', '127.0.0.1', '-p', port(), ...args]);

  it('mosquitto_sub -C 1 receives what mosquitto_pub -q 1 sends', async () => {
    broker = await startTestBroker();
    const received = await subscribe('mosq-sub-1', 'interop/q1', ['-q', '1', '-v']);
    const sent = await pub(['-i', 'mosq-pub-1', '-q', '1', '-t', 'interop/q1', '-m', 'hello from mosquitto_pub']);
    expect(sent).toMatchObject({ code: 0, stderr: '' });
    const result = await received.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('interop/q1 hello from mosquitto_pub\n');
  });

  it('QoS 2 and a binary-safe payload from a file survive the round trip', async () => {
    broker = await startTestBroker();
    const file = path.join(dir, 'payload.bin');
    const payload = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x0a, 0x41]);
    await writeFile(file, payload);
    const received = await subscribe('mosq-sub-2', 'interop/q2', ['-q', '2', '-F', '%q %x']);
    expect(await pub(['-q', '2', '-t', 'interop/q2', '-f', file])).toMatchObject({ code: 0 });
    expect((await received.done).stdout).toBe(`2 ${payload.toString('hex')}\n`);
  });

  it('a retained message (-r) reaches a later mosquitto_sub with the retain flag set', async () => {
    broker = await startTestBroker();
    expect(await pub(['-r', '-q', '1', '-t', 'interop/retained', '-m', 'kept'])).toMatchObject({ code: 0 });
    const result = await runProgram('mosquitto_sub', ['-h', '127.0.0.1', '-p', port(), '-t', 'interop/#', '-C', '1', '-W', '15', '-F', '%r %t %p']);
    expect(result).toMatchObject({ code: 0, stdout: '1 interop/retained kept\n' });
    // An empty retained message clears it (mosquitto_pub -r -n).
    expect(await pub(['-r', '-n', '-t', 'interop/retained'])).toMatchObject({ code: 0 });
    const none = await runProgram('mosquitto_sub', ['-h', '127.0.0.1', '-p', port(), '-t', 'interop/#', '--retained-only', '-W', '1']);
    expect(none.stdout).toBe('');
  });

  it("mosquitto_sub -t '$SYS/broker/uptime' -C 1 receives the uptime", async () => {
    broker = await startTestBroker({ sysIntervalSeconds: 1 });
    const result = await runProgram('mosquitto_sub', ['-h', '127.0.0.1', '-p', port(), '-t', '$SYS/broker/uptime', '-C', '1', '-W', '15', '-v']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\$SYS\/broker\/uptime \d+ seconds\n$/);
  });

  it('$SYS is not matched by # (mosquitto_sub -t "#" gets only the normal topic)', async () => {
    broker = await startTestBroker({ sysIntervalSeconds: 1 });
    expect(await pub(['-r', '-t', 'plain/topic', '-m', 'x'])).toMatchObject({ code: 0 });
    await waitUntil(() => broker!.broker.stats.retainedTopics.has('$SYS/broker/uptime'), 'a retained $SYS/broker/uptime');
    const result = await runProgram('mosquitto_sub', ['-h', '127.0.0.1', '-p', port(), '-t', '#', '-W', '1', '-v']);
    expect(result.stdout).toBe('plain/topic x\n');
  });

  it('mosquitto_pub -V 5 is refused cleanly (aedes speaks MQTT 3.1/3.1.1), -V 31 works', async () => {
    broker = await startTestBroker();
    const v5 = await pub(['-V', '5', '-t', 'v/5', '-m', 'x']);
    expect(v5.code).not.toBe(0);
    expect(v5.stderr).toMatch(/Unsupported Protocol Version/i);
    expect(await pub(['-V', '31', '-t', 'v/31', '-m', 'x'])).toMatchObject({ code: 0 });
  });

  describe('password_file', () => {
    async function passwordBroker(file: string): Promise<void> {
      broker = await startTestBroker({ listeners: [loopbackListener({ allowAnonymous: false })], passwordFile: file });
    }

    it('a file written by runPasswd: right password accepted, wrong one and anonymous refused', async () => {
      const file = path.join(dir, 'passwd-ours');
      const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
      expect(await runPasswd(['-c', '-b', file, 'alice', 's3cret pass'], io)).toBe(0);
      await passwordBroker(file);

      expect(await pub(['-u', 'alice', '-P', 's3cret pass', '-t', 'a/b', '-m', '1'])).toMatchObject({ code: 0 });
      const wrong = await pub(['-u', 'alice', '-P', 'wrong', '-t', 'a/b', '-m', '1']);
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/not authori[sz]ed|bad user ?name or password/i);
      const unknown = await pub(['-u', 'mallory', '-P', 's3cret pass', '-t', 'a/b', '-m', '1']);
      expect(unknown.code).not.toBe(0);
      const anonymous = await pub(['-t', 'a/b', '-m', '1']);
      expect(anonymous.code).not.toBe(0);
      expect(anonymous.stderr).toMatch(/not authori[sz]ed/i);
    });

    it.skipIf(!hasBinary('mosquitto_passwd'))('a file written by the real mosquitto_passwd -c -b', async () => {
      const file = path.join(dir, 'passwd-mosquitto');
      expect(await runProgram('mosquitto_passwd', ['-c', '-b', file, 'bob', 'hunter2'])).toMatchObject({ code: 0 });
      await passwordBroker(file);
      expect(await pub(['-u', 'bob', '-P', 'hunter2', '-t', 'a/b', '-m', '1'])).toMatchObject({ code: 0 });
      expect((await pub(['-u', 'bob', '-P', 'hunter3', '-t', 'a/b', '-m', '1'])).code).not.toBe(0);
    });
  });

  describe.skipIf(!hasOpenssl)('over TLS with a client certificate', () => {
    let pki: TestPki;
    beforeAll(async () => {
      const pkiDir = path.join(dir, 'pki');
      await mkdir(pkiDir);
      pki = await createTestPki(pkiDir);
    });

    it('mosquitto_pub --cafile --cert --key reaches mosquitto_sub on an mqtts listener with require_certificate', async () => {
      broker = await startTestBroker({
        listeners: [
          loopbackListener({
            protocol: 'mqtts',
            tls: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caCert, requireCertificate: true, useIdentityAsUsername: true },
          }),
        ],
      });
      const tlsArgs = ['--cafile', pki.caCert, '--cert', pki.clientCert, '--key', pki.clientKey];
      const received = await subscribe('mosq-tls-sub', 'tls/t', tlsArgs);
      expect(await pub([...tlsArgs, '-q', '1', '-t', 'tls/t', '-m', 'secure'])).toMatchObject({ code: 0 });
      expect((await received.done).stdout).toBe('secure\n');
      const noCert = await pub(['--cafile', pki.caCert, '-t', 'tls/t', '-m', 'x']);
      expect(noCert.code).not.toBe(0);
    });
  });

  it.skipIf(!wsSupported)('mosquitto_sub -L ws://... over the WebSocket listener', async () => {
    broker = await startTestBroker({ listeners: [loopbackListener({ protocol: 'ws' })] });
    await broker.broker.bus('test').publish({ topic: 'ws/t', payload: 'via ws', retain: true });
    const result = await runProgram('mosquitto_sub', ['-L', `ws://127.0.0.1:${port()}/ws/t`, '-C', '1', '-W', '15']);
    expect(result).toMatchObject({ code: 0, stdout: 'via ws\n' });
  });
});
