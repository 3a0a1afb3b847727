import { crc32 } from 'node:zlib';
import path from 'node:path';
import type { QueueFiles } from './files.js';

/*
 * The acknowledgement cursor: every record with seq <= ackedThrough has been acknowledged (or dropped).
 * 16 bytes: the magic "BQC1", u64 LE ackedThrough, u32 LE CRC-32 of the first 12 bytes.
 *
 * Saved by write-tmp + fdatasync + rename + fsync of the directory, so that after a power cut the file holds either
 * the old or the new cursor, never a mix; a segment is deleted only after the cursor that covers it is durable.
 */

const CURSOR_FILE = 'cursor';
const CURSOR_TMP_FILE = 'cursor.tmp';
const MAGIC = Buffer.from('BQC1', 'latin1');
const CURSOR_BYTES = 16;

function encodeCursor(ackedThrough: number): Buffer {
  const buffer = Buffer.alloc(CURSOR_BYTES);
  MAGIC.copy(buffer, 0);
  buffer.writeBigUInt64LE(BigInt(ackedThrough), 4);
  buffer.writeUInt32LE(crc32(buffer.subarray(0, 12)), 12);
  return buffer;
}

/** The cursor, or undefined if the bytes are not one (unreadable cursor: start from 0, i.e. re-send, never lose). */
function decodeCursor(buffer: Buffer): number | undefined {
  if (buffer.length !== CURSOR_BYTES || !buffer.subarray(0, 4).equals(MAGIC)) return undefined;
  if (buffer.readUInt32LE(12) !== crc32(buffer.subarray(0, 12))) return undefined;
  return Number(buffer.readBigUInt64LE(4));
}

export interface LoadedCursor {
  ackedThrough: number;
  /** Present but unreadable: everything on disk is handed out again. */
  unreadable: boolean;
}

export async function loadCursor(files: QueueFiles, dir: string, names: readonly string[]): Promise<LoadedCursor> {
  if (!names.includes(CURSOR_FILE)) return { ackedThrough: 0, unreadable: false };
  const handle = await files.open(path.join(dir, CURSOR_FILE), 'read');
  try {
    const buffer = Buffer.alloc(CURSOR_BYTES + 1);
    const read = await handle.read(buffer, 0);
    const ackedThrough = decodeCursor(buffer.subarray(0, read));
    return ackedThrough === undefined ? { ackedThrough: 0, unreadable: true } : { ackedThrough, unreadable: false };
  } finally {
    await handle.close();
  }
}

export async function saveCursor(files: QueueFiles, dir: string, ackedThrough: number): Promise<void> {
  const tmp = path.join(dir, CURSOR_TMP_FILE);
  const handle = await files.open(tmp, 'write');
  try {
    await handle.truncate(0);
    await handle.write(encodeCursor(ackedThrough), 0);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await files.rename(tmp, path.join(dir, CURSOR_FILE));
  await files.syncDir(dir);
}

export function isCursorTmp(name: string): boolean {
  return name === CURSOR_TMP_FILE;
}
