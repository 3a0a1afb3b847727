import mqtt, { type MqttClient } from 'mqtt';
import { WireClient } from './wire-client.js';

/** (topic, payload, retain). The payload may be a view into a reused read buffer: read it, don't keep it. */
export type MessageListener = (topic: string, payload: Buffer, retain: boolean) => void;

export interface ClientOptions {
  clientId: string;
  clean: boolean;
  keepalive?: number;
}

/** What a scenario needs from an MQTT client. */
export interface BenchClient {
  onMessage: MessageListener;
  /** Called on every PUBACK. */
  onAck: () => void;
  /** QoS 1 PUBLISHes sent and not yet acknowledged. */
  inflight: number;
  /** Bytes queued in the socket: the publisher's backpressure signal. */
  readonly writableLength: number;
  publish(topic: Buffer, payload: Buffer, qos: 0 | 1, retain?: boolean): void;
  subscribe(filter: string, qos: 0 | 1): Promise<void>;
  close(): Promise<void>;
  destroy(): void;
}

export type ClientKind = 'wire' | 'mqttjs';

export function connectClient(kind: ClientKind, port: number, options: ClientOptions): Promise<BenchClient> {
  return kind === 'wire' ? WireClient.connect(port, options) : MqttJsClient.connect(port, options);
}

/** MQTT.js behind the same interface, to measure what the load generator itself costs (`--client mqttjs`). */
class MqttJsClient implements BenchClient {
  onMessage: MessageListener = () => {};
  onAck: () => void = () => {};
  inflight = 0;

  private constructor(private readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.retain));
  }

  static async connect(port: number, options: ClientOptions): Promise<MqttJsClient> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: options.clientId,
      clean: options.clean,
      keepalive: options.keepalive ?? 60,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    return new MqttJsClient(client);
  }

  get writableLength(): number {
    return (this.client.stream as { writableLength?: number }).writableLength ?? 0;
  }

  publish(topic: Buffer, payload: Buffer, qos: 0 | 1, retain = false): void {
    if (qos === 1) this.inflight++;
    this.client.publish(topic.toString(), payload, { qos, retain }, () => {
      if (qos === 1) {
        this.inflight--;
        this.onAck();
      }
    });
  }

  async subscribe(filter: string, qos: 0 | 1): Promise<void> {
    await this.client.subscribeAsync(filter, { qos });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }

  destroy(): void {
    this.client.end(true);
  }
}
