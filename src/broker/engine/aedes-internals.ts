import type { Client } from 'aedes';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { MqttPacketParser } from './wire/packet-reader.js';

/**
 * The parts of aedes 1.2 that its typings do not expose and that the delivery window (delivery/outgoing-window.ts)
 * and the packet-number fix (packet-numbers.ts) rely on. Kept in one place so an aedes upgrade has one file to check.
 * test/broker/engine/contract.test.ts checks each of them by name, with the other internals the engine touches.
 */

/** require() as seen from aedes, so modules resolve to the very instances aedes uses, whatever npm hoists. */
export const requireFromAedes = createRequire(import.meta.resolve('aedes'));

export interface PacketLike {
  cmd: string;
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  messageId?: number;
  brokerId?: string | null;
  brokerCounter?: number;
  clientId?: string;
  nl?: boolean;
  /** What an in-process publisher marked the message with (engine.ts: LocalMessage.origin); routed, never stored. */
  origin?: string;
}

export type DeliverFunction = (packet: PacketLike, done: () => void) => void;

export interface AedesBrokerInternals {
  id: string;
  maxTopicLevels: number;
  persistence: {
    /** aedes' outgoingUpdate, applied before it returns: false when the client has no such message queued. */
    outgoingUpdateNow(clientId: string, packet: PacketLike): boolean;
    /** aedes' outgoingClearMessageId, applied before it returns: the message cleared, if there was one. */
    outgoingClearNow(clientId: string, packet: PacketLike): PacketLike | undefined;
  };
  authorizeForward(client: Client, packet: PacketLike): PacketLike | null | undefined;
  publish(packet: PacketLike, client: Client, done: (error?: Error | null) => void): void;
  listenerCount(event: string): number;
  emit(event: string, ...args: unknown[]): boolean;
}

/** An aedes Client's own fields (lib/client.js). */
export interface AedesClientInternals {
  id: string;
  clean: boolean;
  closed: boolean;
  connected: boolean;
  connecting: boolean;
  /** The CONNACK is written: from then on aedes handles what it reads instead of queueing it behind the CONNECT. */
  connackSent: boolean;
  /** Packets of the current read still being handled; aedes reads on when `_nextBatch` brings it back to zero. */
  _parsingBatch: number;
  _nextBatch: (error?: Error | null) => void;
  /** Set by aedes' client.pause(): no more reading until resume(). */
  _paused?: boolean;
  /** Keep-alive, in ms (1.5 × the client's), or -1 without one; aedes refreshes the timer on every packet. */
  _keepaliveInterval: number;
  _keepaliveTimer: NodeJS.Timeout | null;
  conn: Duplex;
  broker: AedesBrokerInternals;
  subscriptions: Record<string, { qos: number } | undefined>;
  /** Highest broker counter delivered per broker id: aedes' de-duplication of overlapping subscriptions. */
  duplicates: Record<string, number | undefined>;
  /** Next packet identifier, shared with aedes' own replay of a stored queue on reconnect. */
  _nextId: number;
  /** mqtt-packet's parser for this connection; aedes listens to its 'packet' and 'error' events. */
  _parser: MqttPacketParser;
  deliverQoS: DeliverFunction;
  deliver0: DeliverFunction;
  waitForDrain(callback: (error: Error | null) => void): void;
  emit(event: 'error', error: Error): boolean;
}

export function internalsOf(client: Client): AedesClientInternals {
  return client as unknown as AedesClientInternals;
}

interface MqttPacketModule {
  writeToStream: ((packet: object, stream: Duplex) => boolean) & { cacheNumbers: boolean };
}

/** The mqtt-packet copy aedes writes with. */
export const mqttPacket = requireFromAedes('mqtt-packet') as MqttPacketModule;
