import type { EventEmitter } from 'node:events';
import { filtersProblem, mqttStringProblem, ProtocolViolation } from './mqtt-strings.js';
import type { PendingBudget, PendingHolder } from './pending-budget.js';
import { INCOMPLETE, MALFORMED, readRemainingLength, type FrameBounds } from './remaining-length.js';

/** The parts of an mqtt-packet Parser that aedes uses and that the reader needs. */
export interface MqttPacketParser extends EventEmitter {
  parse(buffer: Buffer): number;
  settings: { protocolVersion?: number };
  /** Bytes buffered and not yet parsed (a bl BufferList). */
  _list: { length: number };
  _stateCounter: number;
}

/** What mqtt-packet's parser emits for these packets, with the same fields in the same order. */
export class WirePacket {
  cmd: string;
  retain: boolean;
  qos: number;
  dup: boolean;
  length: number;
  topic: string | null = null;
  payload: Buffer | null = null;
  messageId: number | undefined;

  constructor(cmd: string, flags: number, length: number) {
    this.cmd = cmd;
    this.retain = (flags & 0x01) !== 0;
    this.qos = (flags >> 1) & 0x03;
    this.dup = (flags & 0x08) !== 0;
    this.length = length;
  }
}

/** Handles some packets itself instead of letting them reach aedes (delivery/message-flow.ts). */
export interface PacketTaker {
  /** true: handled, not to be emitted to aedes. */
  take(packet: WirePacket): boolean;
  /** Everything of the bytes handed to one parse() has been decoded. */
  chunkDone(): void;
}

/** What a connection may send, checked as each fixed header is read, before the packet is buffered. */
export interface PacketLimits {
  /** Largest PUBLISH payload; 0: no limit but the protocol's. */
  maxPayloadBytes: number;
  /** Largest remaining length of any other packet; 0: no limit but the protocol's. */
  maxPacketBytes: number;
  /**
   * Largest remaining length of the connection's first packet, whatever its type (it must be a CONNECT); 0: the
   * limits above. Before CONNECT nobody is authenticated: a stranger's first packet is held to a small bound.
   */
  firstPacketBytes: number;
  /** The connection's first packet must be a CONNECT (MQTT-3.1.0-1): anything else is a violation at its first byte. */
  connectFirst?: boolean;
  /**
   * Called once, with the remaining length announced, when a packet is over its limit; nothing more is read.
   * `first`: the bound broken was `firstPacketBytes`.
   */
  oversized(announcedBytes: number, first: boolean): void;
  /** Called once when the budget of bytes buffered for incomplete packets closed this connection; nothing more is read. */
  overBudget?(heldBytes: number): void;
  /**
   * Each whole packet after the first, with its size on the wire, while the connection's CONNECT is not yet answered
   * (aedes queues such packets until it is): 'queue' to let it through, 'connected' to let it through and never ask
   * again, 'over' when the connection has queued too much and was closed (nothing more is read).
   */
  queued?(frameBytes: number): QueueVerdict;
}

export type QueueVerdict = 'queue' | 'connected' | 'over';

export interface ReaderHooks extends PacketTaker, Partial<PacketLimits> {}

const CONFIRMATIONS: Record<number, [cmd: string, flags: number] | undefined> = {
  4: ['puback', 0],
  5: ['pubrec', 0],
  6: ['pubrel', 2],
  7: ['pubcomp', 0],
};
const CONNECT = 1;
const PUBLISH = 3;
const PINGREQ = 12;
/** A PUBLISH's bytes besides its payload: topic length, the longest topic, packet identifier. */
const PUBLISH_OVERHEAD = 2 + 65535 + 2;

/**
 * Frames the bytes of an MQTT 3.1 / 3.1.1 connection and decodes the packets of the message flow (PUBLISH, PUBACK,
 * PUBREC, PUBREL, PUBCOMP, PINGREQ) itself, handing every other packet, whole, to mqtt-packet's parser. Those few
 * are nearly all the traffic, and mqtt-packet's state machine, BufferList and debug calls were ~12 % of the broker's
 * CPU at full QoS 1 rate (bench/broker, --cpu-prof). Packets and errors are the ones mqtt-packet produces, emitted
 * on its parser, so aedes sees no difference.
 */
export class PacketReader implements PendingHolder {
  /** Chunks of a packet not yet complete, joined only once it is (joining per chunk would copy a large packet n²). */
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** Total bytes the pending packet needs, once its fixed header has been read; 0 before. */
  private pendingNeeds = 0;
  private failed = false;
  /** No packet read whole yet: the next fixed header is the connection's first (its CONNECT). */
  private first = true;
  /** Whether whole packets are still reported to `queued` (until the hook says the connection is connected). */
  private beforeConnack = true;
  private readonly bounds: FrameBounds = { bodyStart: 0, bodyLength: 0 };

  constructor(
    private readonly parser: MqttPacketParser,
    private readonly taker?: ReaderHooks,
    /** Shared by every connection: the ceiling on bytes buffered for incomplete packets. */
    private readonly budget?: PendingBudget,
  ) {}

  get pendingBytes(): number {
    return this.pendingLength;
  }

  /** The budget is spent and this connection holds the most: let go of it and close the connection. */
  evict(): void {
    const held = this.pendingLength;
    this.failed = true;
    this.setPending([], 0, 0);
    this.taker?.overBudget?.(held);
  }

  /**
   * Takes over `parser.parse`, from the next call on which mqtt-packet holds no partial packet: installed on a new
   * connection, it frames every packet, CONNECT included, so the limits apply before anything is buffered. The
   * packets of an MQTT 5 connection (properties) are decoded by mqtt-packet, framed here all the same.
   */
  static install(parser: MqttPacketParser, taker?: ReaderHooks, budget?: PendingBudget): PacketReader {
    const reader = new PacketReader(parser, taker, budget);
    const original = parser.parse.bind(parser);
    let active = false;
    parser.parse = (buffer: Buffer): number => {
      if (!active) {
        if (parser._list.length > 0 || parser._stateCounter !== 0) return original(buffer);
        active = true;
        reader.original = original;
      }
      reader.read(buffer);
      return reader.pendingLength;
    };
    return reader;
  }

  /** The connection is closed: nothing more is read, and what an incomplete packet held is given back. */
  discard(): void {
    this.failed = true;
    this.setPending([], 0, 0);
  }

  private original: (buffer: Buffer) => number = () => 0;

  read(chunk: Buffer): void {
    if (this.failed) return;
    try {
      this.decodeAll(chunk);
    } finally {
      // Even when a handler threw: the taker may hold shared state (the FlushScheduler) until the read ends.
      this.taker?.chunkDone();
    }
  }

  private decodeAll(chunk: Buffer): void {
    let buffer = chunk;
    if (this.pendingLength > 0) {
      const length = this.pendingLength + chunk.length;
      if (length < this.pendingNeeds) {
        this.pending.push(chunk);
        this.setPending(this.pending, length, this.pendingNeeds);
        return;
      }
      buffer = Buffer.concat([...this.pending, chunk], length);
      this.setPending([], 0, 0);
    }
    let offset = 0;
    const bounds = this.bounds;
    let needs = 0;
    while (offset < buffer.length) {
      // MQTT-3.1.0-1: the first packet must be CONNECT. Its first byte says so: closed at once, as mosquitto does,
      // instead of held open until aedes' connectTimeout.
      if (this.first && buffer[offset]! >> 4 !== CONNECT && this.taker?.connectFirst) {
        this.violation(`first packet is not CONNECT (type ${buffer[offset]! >> 4}, MQTT-3.1.0-1)`);
        return;
      }
      const status = readRemainingLength(buffer, offset, bounds);
      if (status === MALFORMED) {
        this.fail('Invalid variable byte integer');
        return;
      }
      if (status === INCOMPLETE) break;
      if (this.overLimit(buffer, offset, bounds)) return;
      const end = bounds.bodyStart + bounds.bodyLength;
      if (end > buffer.length) {
        needs = end - offset;
        break;
      }
      if (this.first) this.first = false;
      else if (this.beforeConnack && !this.mayQueue(end - offset)) return;
      if (!this.decode(buffer[offset]!, buffer, offset, bounds.bodyStart, end)) return;
      offset = end;
    }
    if (offset < buffer.length) {
      // A partial packet: keep a copy, not a view that would pin the whole read buffer.
      const rest = Buffer.from(buffer.subarray(offset));
      this.setPending([rest], rest.length, needs);
    }
  }

  /** Every change of the incomplete packet's bytes goes through here, so the shared budget always knows them. */
  private setPending(chunks: Buffer[], length: number, needs: number): void {
    const before = this.pendingLength;
    this.pending = chunks;
    this.pendingLength = length;
    this.pendingNeeds = needs;
    if (before !== length) this.budget?.changed(this, before, length);
  }

  /**
   * Whether the packet whose fixed header is at `frame` is over its limit: then the connection is refused (once) and
   * nothing of it is kept. A PUBLISH's payload length is exact once its topic length has arrived; before that only
   * the longest topic's worth beyond the limit can be announced.
   */
  private overLimit(buffer: Buffer, frame: number, bounds: FrameBounds): boolean {
    const hooks = this.taker;
    if (!hooks?.oversized) return false;
    const announced = bounds.bodyLength;
    const firstLimit = this.first ? (hooks.firstPacketBytes ?? 0) : 0;
    const overFirst = firstLimit > 0 && announced > firstLimit;
    let over: boolean;
    if (overFirst) {
      over = true;
    } else if (buffer[frame]! >> 4 === PUBLISH) {
      const limit = hooks.maxPayloadBytes ?? 0;
      if (limit <= 0) return false;
      if (bounds.bodyStart + 2 <= buffer.length) {
        const qos = (buffer[frame]! >> 1) & 0x03;
        over = announced - 2 - buffer.readUInt16BE(bounds.bodyStart) - (qos > 0 ? 2 : 0) > limit;
      } else {
        over = announced > limit + PUBLISH_OVERHEAD;
      }
    } else {
      const limit = hooks.maxPacketBytes ?? 0;
      over = limit > 0 && announced > limit;
    }
    if (!over) return false;
    this.failed = true;
    this.setPending([], 0, 0);
    hooks.oversized(announced, overFirst);
    return true;
  }

  /** false: the connection queued too much before its CONNACK and was closed; nothing of it is kept. */
  private mayQueue(frameBytes: number): boolean {
    const verdict = this.taker?.queued?.(frameBytes) ?? 'connected';
    if (verdict === 'queue') return true;
    if (verdict === 'connected') {
      this.beforeConnack = false;
      return true;
    }
    this.failed = true;
    this.setPending([], 0, 0);
    return false;
  }

  /** One whole packet (`frame` its first byte, `start` its body); false once the connection is in error. */
  private decode(header: number, buffer: Buffer, frame: number, start: number, end: number): boolean {
    if (this.parser.settings.protocolVersion === 5) {
      this.original(buffer.subarray(frame, end));
      return !this.failed;
    }
    const type = header >> 4;
    const flags = header & 0x0f;
    const length = end - start;
    if (type === PUBLISH) {
      const packet = new WirePacket('publish', flags, length);
      if (packet.qos > 2) return this.fail('Packet must not have both QoS bits set to 1');
      if (length < 2) return this.fail('Cannot parse topic');
      const topicEnd = start + 2 + buffer.readUInt16BE(start);
      if (topicEnd > end) return this.fail('Cannot parse topic');
      const badTopic = mqttStringProblem(buffer, start + 2, topicEnd);
      if (badTopic) return this.violation(`topic: ${badTopic}`);
      packet.topic = buffer.toString('utf8', start + 2, topicEnd);
      let payloadStart = topicEnd;
      if (packet.qos > 0) {
        if (topicEnd + 2 > end) return this.fail('Cannot parse messageId');
        packet.messageId = buffer.readUInt16BE(topicEnd);
        payloadStart += 2;
      }
      // A retained payload is kept for long: copy it out of the read buffer rather than pin all of it.
      packet.payload = packet.retain ? Buffer.from(buffer.subarray(payloadStart, end)) : buffer.subarray(payloadStart, end);
      return this.emit(packet);
    }
    const confirmation = CONFIRMATIONS[type];
    if (confirmation) {
      if (flags !== confirmation[1]) return this.fail(`Invalid header flag bits, must be 0x${confirmation[1].toString(16)} for ${confirmation[0]} packet`);
      const packet = new WirePacket(confirmation[0], flags, length);
      if (length < 2) return this.fail('Cannot parse messageId');
      packet.messageId = buffer.readUInt16BE(start);
      return this.emit(packet);
    }
    if (type === PINGREQ) {
      if (flags !== 0) return this.fail('Invalid header flag bits, must be 0x0 for pingreq packet');
      this.parser.emit('packet', new WirePacket('pingreq', flags, length));
      return !this.failed;
    }
    // CONNECT, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT and anything invalid: mqtt-packet, with the whole frame.
    const badFilter = filtersProblem(type, buffer, start, end);
    if (badFilter) return this.violation(badFilter);
    this.original(buffer.subarray(frame, end));
    return true;
  }

  private violation(message: string): false {
    this.failed = true;
    this.setPending([], 0, 0);
    this.parser.emit('error', new ProtocolViolation(message));
    return false;
  }

  private emit(packet: WirePacket): boolean {
    if (!this.taker?.take(packet)) this.parser.emit('packet', packet);
    return !this.failed;
  }

  private fail(message: string): false {
    this.failed = true;
    this.setPending([], 0, 0);
    this.parser.emit('error', new Error(message));
    return false;
  }
}
