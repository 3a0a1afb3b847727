import type { Duplex } from 'node:stream';

type WriteCallback = (error?: Error | null) => void;

/**
 * Sets the bridge bit (0x80) in the protocol level of the first CONNECT written to `stream`: mosquitto's try_private,
 * which tells a mosquitto peer not to send a bridge its own messages back. MQTT.js builds its CONNECT from a fixed set
 * of fields and cannot ask for it (mqtt-packet could, from a `bridgeMode` field MQTT.js never copies), so the byte is
 * set on the way out: the CONNECT's first chunks are held until the level byte has arrived, then written as one.
 */
export function markBridgeConnect<S extends Duplex>(stream: S): S {
  const write = stream.write.bind(stream) as (chunk: Buffer, callback?: WriteCallback) => boolean;
  const held: Buffer[] = [];
  const callbacks: WriteCallback[] = [];
  stream.write = ((chunk: Buffer | string, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean => {
    const done = typeof encoding === 'function' ? encoding : callback;
    held.push(typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : chunk);
    if (done) callbacks.push(done);
    const joined = Buffer.concat(held);
    const level = protocolLevelOffset(joined);
    if (level === undefined) return true;
    joined[level] = joined[level]! | 0x80;
    stream.write = write as S['write'];
    return write(joined, (error) => {
      for (const callback of callbacks) callback(error);
    });
  }) as S['write'];
  return stream;
}

/** Where a CONNECT's protocol level byte is, once enough of the packet is there to tell. */
function protocolLevelOffset(connect: Buffer): number | undefined {
  let offset = 1;
  while (offset < connect.length && offset <= 4 && (connect[offset]! & 0x80) !== 0) offset++;
  offset++;
  if (offset + 2 > connect.length) return undefined;
  const level = offset + 2 + connect.readUInt16BE(offset);
  return level < connect.length ? level : undefined;
}
