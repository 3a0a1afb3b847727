import { mqttPacket } from './aedes-internals.js';

/**
 * mqtt-packet, on its first write, builds a cache of all 65,536 two-byte numbers as separate Buffers: ~6 MiB of heap
 * for ever, which is a twelfth of the gateway's memory budget on a Pi Zero 2 W, to save one 2-byte allocation per
 * packet identifier written. Turn it off in the copy aedes uses.
 */
export function disablePacketNumberCache(): void {
  mqttPacket.writeToStream.cacheNumbers = false;
}
