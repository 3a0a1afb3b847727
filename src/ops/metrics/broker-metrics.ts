import type { Registry } from 'prom-client';
import type { BrokerTraffic, ListenerState } from '../../broker/broker.js';
import { collectedCounter, collectedGauge } from './collected.js';

/** What the metrics read of the embedded broker. */
export interface BrokerMetricsSource {
  traffic(): BrokerTraffic;
  readonly connectedClients: number;
  listenerStates(): ListenerState[];
}

export function registerBrokerMetrics(registry: Registry, prefix: string, broker: BrokerMetricsSource): void {
  const p = `${prefix}broker_`;
  const counter = (name: string, help: string, read: (t: BrokerTraffic) => number) =>
    collectedCounter(registry, `${p}${name}`, help, [], () => [[{}, read(broker.traffic())]]);
  counter('messages_received_total', 'PUBLISH packets received from MQTT clients', (t) => t.messagesReceived);
  counter('messages_sent_total', 'PUBLISH packets sent to MQTT clients', (t) => t.messagesSent);
  counter('messages_dropped_total', 'Messages dropped: refused by ACL, size or $SYS, or beyond max_queued_messages', (t) => t.messagesDropped);
  counter('bytes_received_total', 'Bytes received on MQTT connections (TCP, TLS, WebSocket)', (t) => t.bytesReceived);
  counter('bytes_sent_total', 'Bytes sent on MQTT connections', (t) => t.bytesSent);
  counter('connections_total', 'MQTT client connections accepted', (t) => t.connectionsTotal);

  const gauge = (name: string, help: string, read: () => number) => collectedGauge(registry, `${p}${name}`, help, [], () => [[{}, read()]]);
  gauge('clients_connected', 'MQTT clients connected now', () => broker.connectedClients);
  gauge('subscriptions', 'Subscriptions, of connected clients and of persistent sessions', () => broker.traffic().subscriptions);
  gauge('retained_messages', 'Topics holding a retained message', () => broker.traffic().retainedMessages);
  collectedGauge(registry, `${p}listener_up`, '1 while the listener accepts connections', ['listener'], () =>
    broker.listenerStates().map((l) => [{ listener: l.name }, l.listening ? 1 : 0]),
  );
}
