/**
 * The in-process road between the gateway (and next the bridges) and the embedded broker. The broker implements it
 * (broker/local-bus.ts); nothing on this side knows aedes, sockets or the engine.
 */

export type QoS = 0 | 1 | 2;

export interface BusMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
}

/** Who published a message: a network client, or an in-process publisher (the name its bus handle was given). */
export type Publisher = { kind: 'client'; clientId: string } | { kind: 'local'; origin: string };

export interface DeliveredMessage extends BusMessage {
  publisher: Publisher;
}

export interface PublishRequest {
  topic: string;
  payload: Buffer | string;
  /** Default 0. */
  qos?: QoS;
  /** Default false. */
  retain?: boolean;
}

/**
 * Receives each matching message. A returned promise is backpressure: the message's publisher (a client's PUBACK,
 * or an in-process publish() promise) waits until it settles, so a handler that writes to disk first acknowledges
 * nothing it could still lose. A handler that throws or rejects is logged; the message is not retried.
 */
export type BusHandler = (message: DeliveredMessage) => void | Promise<void>;

export interface BusSubscription {
  unsubscribe(): Promise<void>;
}

export interface LocalBus {
  /** The in-process publisher this handle publishes as (`gateway`, `bridge:cloud`). */
  readonly origin: string;
  /**
   * Resolves once the broker has taken responsibility for the message: routed to every subscriber (each in-process
   * handler settled), queued for every persistent session, and stored if retained.
   */
  publish(message: PublishRequest): Promise<void>;
  subscribe(filter: string, handler: BusHandler): Promise<BusSubscription>;
  /** The retained messages whose topics match `filter`. */
  retained(filter: string): Promise<BusMessage[]>;
}
