import path from 'node:path';
import type { Logger } from '../util/logger.js';
import type { BridgeQueue } from './bridge.js';
import type { BridgeSection } from './config.js';
import { DiskQueue } from './queue/disk-queue.js';

/** A bridge's durable queue in `<state_dir>/bridges/<connection>`, with its bounds from the config; drops are logged. */
export function openBridgeQueue(section: BridgeSection, stateDir: string, logger: Logger): Promise<BridgeQueue> {
  const log = logger.child({ module: 'bridge-queue', connection: section.connection });
  const settings = section.queue;
  return DiskQueue.open({
    dir: path.join(stateDir, 'bridges', section.connection),
    maxBytes: settings.max_bytes,
    maxAgeMs: settings.max_age,
    onFull: settings.on_full,
    durability: settings.durability,
    onDrop: (count, reason) =>
      log.warn({ count, reason }, reason === 'full' ? 'bridge queue full (max_bytes): oldest messages dropped' : 'bridge queue: messages older than max_age dropped'),
    onError: (error) => log.error({ err: error }, 'bridge queue background write failed'),
  });
}
