import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskQueue } from '../../../src/bridge/queue/disk-queue.js';
import { parseSegmentName } from '../../../src/bridge/queue/segment-file.js';
import { drain, message, options, QUEUE_DIR } from './helpers.js';
import { PowerCutFiles, seededRandom } from './power-cut-files.js';

async function lastSegment(files: PowerCutFiles): Promise<string> {
  const names = (await files.list(QUEUE_DIR)).filter((name) => parseSegmentName(name) !== undefined).sort();
  return path.join(QUEUE_DIR, names.at(-1) as string);
}

/** Ten records in one segment, closed; returns the files and the segment's bytes. */
async function tenRecords(): Promise<{ files: PowerCutFiles; file: string; bytes: Buffer }> {
  const files = new PowerCutFiles({ random: seededRandom(7) });
  const queue = await DiskQueue.open(options({ files, segmentBytes: 1 << 20 }));
  for (let id = 0; id < 10; id += 1) await queue.append(message(id, 50));
  await queue.close();
  const file = await lastSegment(files);
  return { files, file, bytes: files.contents(file) as Buffer };
}

describe('DiskQueue recovery', () => {
  it('truncates a record cut in half at the end of the last segment, and keeps everything before it', async () => {
    const { files, file, bytes } = await tenRecords();
    const recordBytes = bytes.length / 10;
    files.overwrite(file, bytes.subarray(0, bytes.length - Math.floor(recordBytes / 2)));
    const queue = await DiskQueue.open(options({ files }));
    expect(files.contents(file)?.length).toBe(recordBytes * 9);
    expect((await drain(queue)).map((entry) => entry.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // Appends go on after the truncated record, readable after another reopen.
    await queue.append(message(10, 50));
    await queue.close();
    const reopened = await DiskQueue.open(options({ files }));
    expect((await drain(reopened)).map((entry) => entry.id)).toEqual([10]);
    await reopened.close();
  });

  it('truncates a last record whose CRC does not match', async () => {
    const { files, file, bytes } = await tenRecords();
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 3] = (damaged[damaged.length - 3] as number) ^ 0x40; // one bit in the last payload
    files.overwrite(file, damaged);
    const queue = await DiskQueue.open(options({ files }));
    expect(files.contents(file)?.length).toBe((bytes.length / 10) * 9);
    expect((await drain(queue)).map((entry) => entry.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    await queue.close();
  });

  it('treats a garbage length at the tail as torn, and an unreadable cursor as "nothing acknowledged"', async () => {
    const { files, file, bytes } = await tenRecords();
    files.overwrite(file, Buffer.concat([bytes, Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2])]));
    const cursor = await files.open(path.join(QUEUE_DIR, 'cursor'), 'write');
    await cursor.write(Buffer.from('not a cursor'), 0);
    const queue = await DiskQueue.open(options({ files }));
    expect(files.contents(file)?.length).toBe(bytes.length);
    expect((await drain(queue)).map((entry) => entry.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await queue.close();
  });
});
