import type { Registry } from 'prom-client';
import type { BridgeSnapshot } from '../../bridge/bridge.js';
import { collectedCounter, collectedGauge, type Sample } from './collected.js';

export function registerBridgeMetrics(registry: Registry, prefix: string, snapshots: () => BridgeSnapshot[]): void {
  const p = `${prefix}bridge_`;
  const each = (read: (s: BridgeSnapshot) => number | undefined): Sample<'bridge'>[] =>
    snapshots().flatMap((s): Sample<'bridge'>[] => {
      const value = read(s);
      return value === undefined ? [] : [[{ bridge: s.connection }, value]];
    });
  const gauge = (name: string, help: string, read: (s: BridgeSnapshot) => number | undefined) => collectedGauge(registry, `${p}${name}`, help, ['bridge'], () => each(read));
  const counter = (name: string, help: string, read: (s: BridgeSnapshot) => number) => collectedCounter(registry, `${p}${name}`, help, ['bridge'], () => each(read));

  gauge('connected', '1 while connected to the cloud broker', (s) => (s.connected ? 1 : 0));
  gauge('queue_depth', 'Messages in the disk queue, not yet acknowledged by the cloud', (s) => s.queue?.depth);
  gauge('queue_bytes', 'Bytes of the disk queue', (s) => s.queue?.bytes);
  gauge('queue_oldest_age_seconds', 'Age of the oldest message in the queue; 0 when empty', (s) => (s.queue ? (s.queue.oldestAgeMs ?? 0) / 1000 : undefined));
  gauge('inflight_messages', 'Messages sent to the cloud and not yet acknowledged', (s) => s.inflight);
  counter('messages_sent_total', 'Messages the cloud acknowledged (QoS 0: sent)', (s) => s.counters.sent);
  counter('messages_received_total', 'Messages from the cloud published locally', (s) => s.counters.received);
  counter('reconnects_total', 'Connections to the cloud after the first', (s) => Math.max(0, s.connections - 1));
  collectedCounter(registry, `${p}messages_dropped_total`, 'Messages that will not reach the cloud, by reason', ['bridge', 'reason'], () =>
    snapshots().flatMap((s): Sample<'bridge' | 'reason'>[] => [
      // The queue's own drops: the oldest, when full with on_full: drop_oldest, and those past max_age.
      [{ bridge: s.connection, reason: 'queue' }, s.queue?.dropped ?? 0],
      // Refused by a full queue (on_full: refuse) or a failing disk.
      [{ bridge: s.connection, reason: 'not_queued' }, s.counters.failedAppends],
      // QoS 0 while disconnected, with queue.qos0 off.
      [{ bridge: s.connection, reason: 'qos0_offline' }, s.counters.droppedQos0],
    ]),
  );
}
