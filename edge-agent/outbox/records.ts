/**
 * The outbox's on-disk record framing: pure, no I/O.
 *
 *   offset 0  u16  magic 0x5746 ("WF")
 *          2  u8   type (1 = bin, 2 = ack, 3 = marks)
 *          3  u8   version (1)
 *          4  u32  payload length, little-endian
 *          8  u32  CRC-32 of bytes 2..7 and the payload, little-endian
 *         12  …    payload (UTF-8 JSON)
 *
 * `scan` walks a file's bytes and returns every record whose frame and checksum hold. A damaged region (a torn
 * write, a flipped bit) is skipped by searching forward for the next frame that checks out, so one bad record
 * never hides the good ones after it, and a bad record is never returned.
 */
import { crc32 } from 'node:zlib';

export const MAGIC = 0x5746;
export const HEADER_BYTES = 12;
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

export const RecordType = { bin: 1, ack: 2, marks: 3 } as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export function frame(type: RecordType, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt16LE(MAGIC, 0);
  out.writeUInt8(type, 2);
  out.writeUInt8(1, 3);
  out.writeUInt32LE(payload.length, 4);
  payload.copy(out, HEADER_BYTES);
  out.writeUInt32LE(checksum(out, payload.length), 8);
  return out;
}

function checksum(buf: Buffer, length: number, at = 0): number {
  const head = crc32(buf.subarray(at + 2, at + 8));
  return crc32(buf.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length), head);
}

export interface ScannedRecord {
  type: RecordType;
  payload: Buffer;
  /** Byte offset of the frame in the file. */
  offset: number;
  /** Offset just past the frame. */
  end: number;
}

export interface ScanResult {
  records: ScannedRecord[];
  /** Offset just past the last good record: everything after it is damage or a torn tail. */
  good_end: number;
  /** Byte ranges skipped because they held no valid frame. */
  damaged: { from: number; to: number }[];
}

/** Whether a valid frame starts at `at`. Returns its end offset, or -1. */
function frameAt(buf: Buffer, at: number): number {
  if (at + HEADER_BYTES > buf.length) return -1;
  if (buf.readUInt16LE(at) !== MAGIC) return -1;
  const type = buf.readUInt8(at + 2);
  if ((type !== RecordType.bin && type !== RecordType.ack && type !== RecordType.marks) || buf.readUInt8(at + 3) !== 1) return -1;
  const length = buf.readUInt32LE(at + 4);
  if (length > MAX_PAYLOAD_BYTES || at + HEADER_BYTES + length > buf.length) return -1;
  if (checksum(buf, length, at) !== buf.readUInt32LE(at + 8)) return -1;
  return at + HEADER_BYTES + length;
}

export function scan(buf: Buffer): ScanResult {
  const records: ScannedRecord[] = [];
  const damaged: { from: number; to: number }[] = [];
  let at = 0;
  let goodEnd = 0;
  while (at < buf.length) {
    const end = frameAt(buf, at);
    if (end >= 0) {
      records.push({ type: buf.readUInt8(at + 2) as RecordType, payload: buf.subarray(at + HEADER_BYTES, end), offset: at, end });
      at = end;
      goodEnd = end;
      continue;
    }
    // Resynchronise: the next offset holding the magic and a frame that checks out.
    let next = at + 1;
    while (next < buf.length) {
      const m = buf.indexOf(0x46, next); // low byte of the little-endian magic
      if (m < 0 || m + 1 >= buf.length) {
        next = buf.length;
        break;
      }
      if (buf[m + 1] === 0x57 && frameAt(buf, m) >= 0) {
        next = m;
        break;
      }
      next = m + 1;
    }
    damaged.push({ from: at, to: next });
    at = next;
  }
  return { records, good_end: goodEnd, damaged };
}
