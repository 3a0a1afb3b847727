import type { Client } from 'aedes';
import { internalsOf, type AedesClientInternals, type PacketLike } from '../aedes-internals.js';
import { writeNow } from '../wire/coalesce-writes.js';
import type { PacketTaker, WirePacket } from '../wire/packet-reader.js';
import type { Flushable, FlushScheduler } from './flush-scheduler.js';

/** Decides, synchronously, whether a client's PUBLISH is routed or dropped (ACL, $SYS, message_size_limit). */
export type PublishScreen = (client: Client, packet: PacketLike) => void;

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const PUBACK = 0x40;

/**
 * The message flow of one connected MQTT 3.1/3.1.1 client, handled as its packets are read instead of by aedes'
 * handlers: PUBLISH at QoS 0 and 1, PUBACK and PUBCOMP. Those are nearly all the traffic, and aedes spends on each
 * an mqtt-packet encoding of the PUBACK, a setImmediate between PUBACK and routing, and a promise chain per
 * acknowledgement: ~2.4 KB of the 8.9 KB allocated per QoS 1 message at 2,000 msg/s in a heap profile.
 *
 * What aedes does is kept: topic checks, the publish policy, the keep-alive refresh, and the
 * read loop's flow control: aedes reads no more from a connection until every PUBLISH of the last read is routed
 * (and written, or waiting in a window; see OutgoingWindow), which is how a slow subscriber slows its publishers.
 * Everything else (CONNECT, SUBSCRIBE, QoS 2, packets before the session is ready) goes to aedes unchanged.
 */
export class MessageFlow implements PacketTaker {
  private readonly client: AedesClientInternals;
  /** Identifiers of the QoS 1 PUBLISH packets of this read, acknowledged together at its end. */
  private acks: number[] = [];
  private took = false;
  /** Between the first packet taken from a read and the read's end. */
  private reading = false;
  /** The FlushScheduler is held for this read: what it routes is written at its end (chunkDone). */
  private holding = false;
  /** Routings that completed while the read was still being parsed: counted off at its end. */
  private owed = 0;
  /** PUBLISH packets handed to the broker and not yet routed. */
  private routing = 0;
  /** The read's PUBACKs are owed once `routing` is back to zero. */
  private acksWaitForRouting = false;

  constructor(
    client: Client,
    private readonly screen: PublishScreen,
    private readonly scheduler: FlushScheduler,
    /** The client's delivery window: an acknowledgement frees a slot in it. */
    private readonly window: { acknowledged(messageId: number): void },
  ) {
    this.client = internalsOf(client);
  }

  take(packet: WirePacket): boolean {
    const client = this.client;
    if (!client.connected || client.closed) return false;
    this.reading = true;
    if (!this.holding) {
      this.holding = true;
      this.scheduler.hold();
    }
    switch (packet.cmd) {
      case 'publish':
        if (packet.qos === 2) return false;
        this.took = true;
        this.publish(packet as unknown as PacketLike);
        return true;
      case 'puback':
      case 'pubcomp':
        this.took = true;
        this.acknowledge(packet as unknown as PacketLike);
        return true;
      default:
        return false;
    }
  }

  chunkDone(): void {
    const client = this.client;
    if (this.took) {
      this.took = false;
      if (client._keepaliveInterval > 0) client._keepaliveTimer?.refresh();
      if (this.acks.length > 0) {
        // The read loop waits for the acknowledgements too. They follow the deliveries (see FlushScheduler), and
        // only once every message of the read is routed: at the end of this read, as nearly always; else when the
        // last routing completes (the store's first lookup of a topic, an in-process subscriber that holds its
        // message until it is on disk). A PUBACK is the broker taking responsibility for the message.
        client._parsingBatch++;
        if (this.routing === 0) this.scheduler.runAfterFlushes(this.ackWriter);
        else this.acksWaitForRouting = true;
      }
    }
    if (this.holding) {
      this.holding = false;
      // Still `reading`: routings completed by these writes are counted off below, not re-entrantly.
      this.scheduler.releaseNow();
    }
    this.reading = false;
    if (this.owed > 0) {
      // Routings that completed during the parse, counted off now: read-loop.ts pauses the connection only after the
      // parse, so resuming cannot read re-entrantly from here.
      client._parsingBatch -= this.owed - 1;
      this.owed = 0;
      client._nextBatch();
    }
  }

  private publish(packet: PacketLike): void {
    const client = this.client;
    const broker = client.broker;
    const problem = topicProblem(packet.topic, broker.maxTopicLevels);
    if (problem) {
      client.emit('error', new Error(problem));
      return;
    }
    this.screen(client as unknown as Client, packet);
    if (packet.qos === 1) this.acks.push(packet.messageId!);
    // Counted like aedes' own handlers: the read loop goes on once the count is back to zero.
    client._parsingBatch++;
    this.routing++;
    broker.publish(packet, client as unknown as Client, this.routed);
  }

  /** What aedes' PUBACK and PUBCOMP handlers do: the message out of the session, aedes' 'ack' event, a free slot. */
  private acknowledge(packet: PacketLike): void {
    const client = this.client;
    const broker = client.broker;
    const original = broker.persistence.outgoingClearNow(client.id, packet);
    if (broker.listenerCount('ack') > 0) broker.emit('ack', original, client);
    this.window.acknowledged(packet.messageId!);
  }

  /** PUBACKs for the whole read in one buffer. A publisher that does not read them is not read from either. */
  private readonly ackWriter: Flushable = { flush: () => this.writeAcks() };

  private writeAcks(): void {
    const acks = this.acks;
    const buffer = Buffer.allocUnsafe(acks.length * 4);
    for (let i = 0, offset = 0; i < acks.length; i++, offset += 4) {
      buffer[offset] = PUBACK;
      buffer[offset + 1] = 2;
      buffer.writeUInt16BE(acks[i]!, offset + 2);
    }
    acks.length = 0;
    const client = this.client;
    if (client.closed || writeNow(client.conn, buffer)) this.published();
    else client.waitForDrain(this.published);
  }

  private readonly routed = (error?: Error | null): void => {
    if (--this.routing === 0 && this.acksWaitForRouting) {
      this.acksWaitForRouting = false;
      this.scheduler.runAfterFlushes(this.ackWriter);
    }
    this.published(error);
  };

  private readonly published = (error?: Error | null): void => {
    const client = this.client;
    if (error) {
      client.emit('error', error);
      return;
    }
    // Not from inside the parse (that would read the next chunk re-entrantly): counted off at its end, in chunkDone.
    if (this.reading) this.owed++;
    else client._nextBatch();
  };
}

/** aedes' checks of a PUBLISH topic (handlers/publish.js), in one pass. */
function topicProblem(topic: string, maxLevels: number): string | undefined {
  if (topic.length === 0) return 'empty topic not allowed in PUBLISH';
  let levels = 1;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === SLASH) levels++;
    else if (c === HASH) return '# is not allowed in PUBLISH';
    else if (c === PLUS) return '+ is not allowed in PUBLISH';
  }
  return levels > maxLevels ? 'topic has too many levels' : undefined;
}
