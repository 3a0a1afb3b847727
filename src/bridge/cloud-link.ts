import net from 'node:net';
import tls from 'node:tls';
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import type { Logger } from '../util/logger.js';
import type { Backoff } from './backoff.js';
import { markBridgeConnect } from './bridge-mode.js';
import type { BridgeAddress } from './config.js';

export interface LinkTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
}

export interface LinkOptions {
  addresses: readonly BridgeAddress[];
  protocolVersion: 4 | 5;
  clientId: string;
  username?: string;
  password?: string;
  clean: boolean;
  keepaliveSeconds: number;
  /** Announce a bridge (mosquitto's try_private): a mosquitto peer then does not echo our messages back. */
  tryPrivate: boolean;
  tls?: LinkTls;
  will: { topic: string; payload: string };
  backoff: Backoff;
  connectTimeoutMs?: number;
  logger: Logger;
  /** Makes the MQTT.js client (`bridgeMode`: announce a bridge); tests inject failures here. */
  createClient?: (options: IClientOptions, bridgeMode: boolean) => MqttClient;
}

/** A connection that is up: its client, and what the cloud allows in flight. */
export interface LinkSession {
  readonly client: MqttClient;
  readonly address: BridgeAddress;
  /** The cloud's receive maximum (MQTT 5), else the 3.1.1 customary 20. */
  readonly receiveMaximum: number;
}

export interface LinkHandlers {
  /** The session is usable from now until down(); the link waits for it before reading the socket on. */
  up(session: LinkSession): void | Promise<void>;
  down(reason: string): void;
}

const DEFAULT_RECEIVE_MAXIMUM = 20;

/**
 * The connection to the cloud broker, kept up: our own reconnect (MQTT.js's is off), mosquitto's backoff between
 * attempts, failover along `addresses` (a failed attempt moves to the next one; after a connection ends the first is
 * tried again). One MQTT.js client per connection: nothing of a dead connection's state is reused; what was in flight
 * is the queue's to send again.
 */
export class CloudLink {
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private addressIndex = 0;
  private connectedAt: number | undefined;
  private readonly log: Logger;
  /** Connection attempts that succeeded, for $SYS and health. */
  connections = 0;

  constructor(
    private readonly options: LinkOptions,
    private readonly handlers: LinkHandlers,
  ) {
    this.log = options.logger;
  }

  get connected(): boolean {
    return this.connectedAt !== undefined;
  }

  start(): void {
    this.stopped = false;
    this.attempt();
  }

  /** Ends the connection; `beforeClose` runs on a live client first (the bridge announces itself offline). */
  async stop(beforeClose?: (client: MqttClient) => Promise<void>): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected && beforeClose) await beforeClose(client).catch(() => undefined);
    await client.endAsync(!client.connected).catch(() => undefined);
  }

  private attempt(): void {
    if (this.stopped) return;
    const address = this.options.addresses[this.addressIndex]!;
    const client = (this.options.createClient ?? createClient)(this.clientOptions(address), this.options.tryPrivate && this.options.protocolVersion === 4);
    this.client = client;
    let wasUp = false;
    client.on('connect', (connack) => {
      if (client !== this.client) return;
      wasUp = true;
      this.connections++;
      this.connectedAt = Date.now();
      const receiveMaximum = connack.properties?.receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM;
      this.log.info({ address: `${address.host}:${address.port}`, receiveMaximum }, 'bridge connected');
      void Promise.resolve(this.handlers.up({ client, address, receiveMaximum })).catch((error: unknown) =>
        this.log.error({ err: error }, 'bridge session start failed'),
      );
    });
    client.on('error', (error) => {
      if (client === this.client) this.log.warn({ address: `${address.host}:${address.port}`, err: error.message }, 'bridge connection error');
    });
    client.once('close', () => {
      if (client !== this.client) return;
      this.client = undefined;
      client.removeAllListeners('connect');
      client.end(true);
      const lasted = this.connectedAt === undefined ? 0 : Date.now() - this.connectedAt;
      this.connectedAt = undefined;
      if (wasUp) {
        this.options.backoff.connectionLasted(lasted);
        this.addressIndex = 0;
        this.handlers.down('connection lost');
      } else {
        this.addressIndex = (this.addressIndex + 1) % this.options.addresses.length;
      }
      if (this.stopped) return;
      const wait = this.options.backoff.next();
      this.log.info({ retryInMs: wait, next: this.describe(this.options.addresses[this.addressIndex]!) }, wasUp ? 'bridge disconnected' : 'bridge connection failed');
      this.timer = setTimeout(() => this.attempt(), wait);
    });
  }

  private clientOptions(address: BridgeAddress): IClientOptions {
    const { options } = this;
    const tls = options.tls;
    return {
      host: address.host,
      port: address.port,
      protocol: tls ? 'mqtts' : 'mqtt',
      protocolVersion: options.protocolVersion,
      clientId: options.clientId,
      username: options.username,
      password: options.password,
      clean: options.clean,
      keepalive: options.keepaliveSeconds,
      reconnectPeriod: 0,
      connectTimeout: options.connectTimeoutMs ?? 30_000,
      resubscribe: false,
      will: { topic: options.will.topic, payload: Buffer.from(options.will.payload), qos: 1, retain: true },
      ...(options.protocolVersion === 5 && !options.clean ? { properties: { sessionExpiryInterval: 0xffffffff } } : {}),
      ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername ?? address.host, rejectUnauthorized: tls.rejectUnauthorized } : {}),
    };
  }

  private describe(address: BridgeAddress): string {
    return `${address.host}:${address.port}`;
  }
}

/**
 * MQTT.js over a socket of our own: plain MQTT.js for a client, the same with the CONNECT marked as a bridge's
 * (try_private; MQTT 5 uses no-local subscriptions instead).
 */
function createClient(options: IClientOptions, bridgeMode: boolean): MqttClient {
  if (!bridgeMode) return mqtt.connect(options);
  const { host, port } = options as { host: string; port: number };
  const secure = options.protocol === 'mqtts';
  return new MqttClient(
    () =>
      markBridgeConnect(
        secure
          ? tls.connect({ host, port, ca: options.ca, cert: options.cert, key: options.key, servername: options.servername, rejectUnauthorized: options.rejectUnauthorized })
          : net.connect({ host, port }),
      ),
    options,
  );
}
