import net from 'node:net';
import WebSocket from 'ws';
import type { FuzzCase } from './generator.js';

/**
 * What the broker did with one hostile connection:
 * - `closed`: it closed the connection by itself within the reaction time (answering first or not);
 * - `answered`: it sent something (a CONNACK, a SUBACK...) and kept the connection;
 * - `silent`: it neither answered nor closed (it waits for the rest of a packet, or for CONNECT);
 * - `hung`: after the attacker closed its side, it did not close the connection within the bound: a failure;
 * - `refused`: the connection could not even be opened (the listener is down or full): a failure.
 */
export type Outcome = 'closed' | 'answered' | 'silent' | 'hung' | 'refused';
export const OUTCOMES: readonly Outcome[] = ['closed', 'answered', 'silent', 'hung', 'refused'];

export type Transport = 'tcp' | 'ws';

export interface AttackTiming {
  /** How long the broker gets to react to the attack before the attacker closes its side. */
  reactMs: number;
  /** How long, after the attacker closed its side, the broker may take to close the connection. */
  closeBoundMs: number;
}

export interface AttackResult {
  outcome: Outcome;
  bytesIn: number;
}

/** Plays one case over a raw TCP socket. */
export async function attackTcp(port: number, fuzz: FuzzCase, timing: AttackTiming): Promise<AttackResult> {
  const socket = net.connect({ host: '127.0.0.1', port });
  let bytesIn = 0;
  let closed = false;
  const closedPromise = new Promise<void>((resolve) => socket.once('close', () => ((closed = true), resolve())));
  socket.on('data', (data: Buffer) => (bytesIn += data.length));
  // ECONNRESET and EPIPE are the broker closing on us, which `close` reports.
  socket.on('error', () => undefined);
  const opened = await new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  if (!opened) return { outcome: 'refused', bytesIn };
  for (const chunk of fuzz.chunks) {
    if (closed) break;
    socket.write(chunk);
    // Separate writes (and so, mostly, separate reads on the other side) for the chunks.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return finish(
    () => closed,
    closedPromise,
    () => bytesIn,
    () => socket.end(),
    () => socket.destroy(),
    timing,
  );
}

/** Plays one case over MQTT-over-WebSocket, one binary message per chunk. */
export async function attackWs(url: string, fuzz: FuzzCase, timing: AttackTiming): Promise<AttackResult> {
  const ws = new WebSocket(url, 'mqtt', { handshakeTimeout: timing.closeBoundMs });
  let bytesIn = 0;
  let closed = false;
  const closedPromise = new Promise<void>((resolve) => ws.once('close', () => ((closed = true), resolve())));
  ws.on('message', (data: Buffer) => (bytesIn += data.length));
  ws.on('error', () => undefined);
  const opened = await new Promise<boolean>((resolve) => {
    ws.once('open', () => resolve(true));
    ws.once('close', () => resolve(false));
  });
  if (!opened) return { outcome: 'refused', bytesIn };
  for (const chunk of fuzz.chunks) {
    if (closed) break;
    ws.send(chunk, { binary: true });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return finish(
    () => closed,
    closedPromise,
    () => bytesIn,
    () => ws.close(),
    () => ws.terminate(),
    timing,
  );
}

async function finish(
  isClosed: () => boolean,
  closed: Promise<void>,
  bytesIn: () => number,
  endOurSide: () => void,
  destroy: () => void,
  timing: AttackTiming,
): Promise<AttackResult> {
  await Promise.race([closed, delay(timing.reactMs)]);
  if (isClosed()) return { outcome: 'closed', bytesIn: bytesIn() };
  const outcome: Outcome = bytesIn() > 0 ? 'answered' : 'silent';
  endOurSide();
  await Promise.race([closed, delay(timing.closeBoundMs)]);
  const hung = !isClosed();
  destroy();
  return { outcome: hung ? 'hung' : outcome, bytesIn: bytesIn() };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
