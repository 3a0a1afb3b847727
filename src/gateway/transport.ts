/**
 * The gateway's road to MQTT. The embedded broker implements it in-process; a remote broker (MQTT.js) could too,
 * without the gateway knowing which.
 */
export interface OutgoingMessage {
  topic: string;
  payload: Buffer | string;
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

export interface RetainedMessage {
  topic: string;
  payload: Buffer;
}

export interface GatewayTransport {
  publish(message: OutgoingMessage): Promise<void>;
  /** Returns the function that unsubscribes. */
  subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): Promise<() => Promise<void>>;
  /** Retained messages whose topics match `filter`. */
  retained(filter: string): Promise<RetainedMessage[]>;
}
