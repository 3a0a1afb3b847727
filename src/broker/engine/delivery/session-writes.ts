import type { PacketLike } from '../aedes-internals.js';

/** The session store's calls for queued messages, applied before they return (JournaledPersistence). */
export interface SessionQueueStore {
  outgoingUpdateNow(clientId: string, packet: PacketLike): boolean;
  outgoingClearNow(clientId: string, packet: PacketLike): PacketLike | undefined;
}

/** The client whose session it is: told, as aedes tells it, when a message it was sent is not in its session. */
export interface SessionOwner {
  id: string;
  emit(event: 'error', error: Error): boolean;
}

const NUMBERED = 0;
const DROPPED = 1;

/**
 * What the delivery windows change in the persistent sessions' queues: a message numbered as it is sent, or taken
 * out when it is not sent after all. While the MessageRouter hands a QoS 1/2 message to its subscribers (hold to
 * release) the changes wait: the router queues the message for its persistent sessions after the last subscriber's
 * write, then releases, and the changes are applied in order. In a fan-out to 50 persistent sessions, the 50
 * insertions and 50 updates then come after the writes instead of before and between them. Nothing reads the
 * queues meanwhile: all of it happens in one synchronous call, and a client's PUBACK is read on a later one.
 */
export class SessionWrites {
  private holds = 0;
  /** Waiting changes, three slots each: kind, owner, packet. */
  private readonly waiting: (number | SessionOwner | PacketLike)[] = [];

  constructor(private readonly store: SessionQueueStore) {}

  hold(): void {
    this.holds++;
  }

  /** Applies the waiting changes, in order, when the last hold is released. */
  release(): void {
    if (--this.holds > 0) return;
    const waiting = this.waiting;
    for (let i = 0; i < waiting.length; i += 3) {
      const owner = waiting[i + 1] as SessionOwner;
      const packet = waiting[i + 2] as PacketLike;
      if (waiting[i] === NUMBERED) this.applyNumbered(owner, packet);
      else this.store.outgoingClearNow(owner.id, packet);
    }
    waiting.length = 0;
  }

  /** `packet`, sent to `owner`, has its packet identifier: the session keeps it, to resend with that identifier. */
  numbered(owner: SessionOwner, packet: PacketLike): void {
    if (this.holds > 0) this.waiting.push(NUMBERED, owner, packet);
    else this.applyNumbered(owner, packet);
  }

  /** `packet` will not be sent to `owner` (ACL, no-local, a repeat, a full queue, or QoS 0): out of the session. */
  dropped(owner: SessionOwner, packet: PacketLike): void {
    if (this.holds > 0) this.waiting.push(DROPPED, owner, packet);
    else this.store.outgoingClearNow(owner.id, packet);
  }

  private applyNumbered(owner: SessionOwner, packet: PacketLike): void {
    if (!this.store.outgoingUpdateNow(owner.id, packet)) {
      owner.emit('error', new Error(`no queued message ${packet.brokerId}:${packet.brokerCounter} for ${owner.id}`));
    }
  }
}
