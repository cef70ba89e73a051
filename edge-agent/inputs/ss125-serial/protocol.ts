/**
 * Wavetronix SmartSensor HD (SS125) wire protocol: pure, no I/O. Binary frames, CRC-8 protected (reference:
 * docs/serial-detectors.md, after MnDOT IRIS comm/ss125). Multi-byte fields are big-endian.
 *
 *   header (11 bytes)  'Z' '1' dst-sub dst-id(2) src-sub src-id(2) seq body-size−1 CRC-8(bytes 0–9)
 *   body               msg-id msg-sub-id msg-type payload… CRC-8(body without its last byte)
 *
 * CRC-8: polynomial 0x1C, initial value 0, not reflected. Interval data (message 0x71) comes as one 46-byte body
 * per lane, then one per approach; msg-sub-id is the packet index.
 */

export const MSG_INTERVAL = 0x71;
export const HEADER_BYTES = 11;
export const INTERVAL_BODY_BYTES = 46;
const SENTINEL = [0x5a, 0x31]; // "Z1"

export function crc8(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let crc = 0;
  for (let i = from; i < to; i++) {
    crc ^= bytes[i]!;
    for (let b = 0; b < 8; b++) crc = crc & 0x80 ? ((crc << 1) ^ 0x1c) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

export interface Frame {
  dst_id: number;
  src_id: number;
  seq: number;
  body: Buffer;
}

export function encodeFrame(f: { dst_id: number; src_id: number; seq: number; body: Buffer }): Buffer {
  const body = Buffer.concat([f.body, Buffer.from([crc8(f.body)])]);
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = SENTINEL[0]!;
  header[1] = SENTINEL[1]!;
  header.writeUInt16BE(f.dst_id, 3);
  header.writeUInt16BE(f.src_id, 6);
  header[8] = f.seq & 0xff;
  header[9] = body.length - 1;
  header[10] = crc8(header, 0, 10);
  return Buffer.concat([header, body]);
}

/** The poll for the most recent interval: message 0x71, type 0 (read), interval number 0. */
export function intervalRequest(drop: number, seq: number): Buffer {
  return encodeFrame({ dst_id: drop, src_id: 0, seq, body: Buffer.from([MSG_INTERVAL, 0, 0, 0, 0, 0]) });
}

export interface IntervalRecord {
  packet: number;
  interval_number: number;
  timestamp_ms: number;
  /** null when the sensor flags the speed as not valid */
  speed: number | null;
  volume: number;
  /** null for the sensor's error codes (≥ 0x7FFF) */
  occupancy_pct: number | null;
  class_counts: [number, number, number, number];
  lanes: number;
  approaches: number;
}

const u24 = (b: Buffer, at: number): number => (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;

/** 1-bit valid flag, signed 15-bit integer, 8-bit fraction. */
function fixed24(b: Buffer, at: number): number | null {
  const raw = u24(b, at);
  if (!(raw & 0x800000)) return null;
  let int = (raw >> 8) & 0x7fff;
  if (int & 0x4000) int -= 0x8000;
  return int + (raw & 0xff) / 256;
}

/** Decodes one interval body (CRC already checked), or returns a string saying what is wrong. */
export function decodeInterval(body: Buffer): IntervalRecord | string {
  if (body.length !== INTERVAL_BODY_BYTES) return `interval body of ${body.length} bytes, expected ${INTERVAL_BODY_BYTES}`;
  if (body[0] !== MSG_INTERVAL) return `message 0x${body[0]!.toString(16)} is not interval data`;
  const date = body.readUInt32BE(6);
  const time = body.readUInt32BE(10);
  const [year, month, day] = [date >>> 9, (date >>> 5) & 0xf, date & 0x1f];
  const [hour, minute, second, ms] = [time >>> 22, (time >>> 16) & 0x3f, (time >>> 10) & 0x3f, time & 0x3ff];
  const timestamp_ms = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 || ms > 999 || Number.isNaN(timestamp_ms)) {
    return 'timestamp fields out of range';
  }
  const occ = body.readUInt16BE(20);
  return {
    packet: body[1]!,
    interval_number: u24(body, 3),
    timestamp_ms,
    speed: fixed24(body, 14),
    volume: u24(body, 17),
    occupancy_pct: occ >= 0x7fff ? null : occ / 256,
    class_counts: [u24(body, 22), u24(body, 25), u24(body, 28), u24(body, 31)],
    lanes: body[43]!,
    approaches: body[44]!,
  };
}

/** The sensor side, for simulators and tests: one interval body without its CRC byte. */
export function encodeInterval(r: Omit<IntervalRecord, 'class_counts'> & { class_counts?: [number, number, number, number] }): Buffer {
  const b = Buffer.alloc(INTERVAL_BODY_BYTES - 1);
  b[0] = MSG_INTERVAL;
  b[1] = r.packet;
  b[2] = 2; // result
  const w24 = (at: number, v: number) => {
    b[at] = (v >> 16) & 0xff;
    b[at + 1] = (v >> 8) & 0xff;
    b[at + 2] = v & 0xff;
  };
  w24(3, r.interval_number);
  const d = new Date(r.timestamp_ms);
  b.writeUInt32BE(((d.getUTCFullYear() << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate()) >>> 0, 6);
  b.writeUInt32BE(((d.getUTCHours() << 22) | (d.getUTCMinutes() << 16) | (d.getUTCSeconds() << 10) | d.getUTCMilliseconds()) >>> 0, 10);
  const speed = r.speed === null ? 0 : 0x800000 | ((Math.trunc(r.speed) & 0x7fff) << 8) | Math.round((r.speed % 1) * 256);
  w24(14, speed);
  w24(17, r.volume);
  b.writeUInt16BE(r.occupancy_pct === null ? 0x7fff : Math.round(r.occupancy_pct * 256), 20);
  (r.class_counts ?? [r.volume, 0, 0, 0]).forEach((c, i) => w24(22 + 3 * i, c));
  b[43] = r.lanes;
  b[44] = r.approaches;
  return b;
}

/**
 * Splits a byte stream into frames whose header and body CRCs hold. On any mismatch it skips one byte and
 * searches for the next "Z1"; bytes skipped are counted. Buffered bytes never exceed `max_bytes`.
 */
export class Framer {
  private buf: Buffer = Buffer.alloc(0);
  discarded = 0;
  bad_crc = 0;
  private readonly max_bytes: number;

  constructor(max_bytes = 4_096) {
    this.max_bytes = max_bytes;
  }

  push(bytes: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? bytes : Buffer.concat([this.buf, bytes]);
    const out: Frame[] = [];
    for (;;) {
      const start = this.findSentinel();
      if (start < 0) {
        const keep = this.buf.at(-1) === SENTINEL[0] ? 1 : 0;
        this.discarded += this.buf.length - keep;
        this.buf = this.buf.subarray(this.buf.length - keep);
        break;
      }
      if (start > 0) {
        this.discarded += start;
        this.buf = this.buf.subarray(start);
      }
      if (this.buf.length < HEADER_BYTES) break;
      if (crc8(this.buf, 0, 10) !== this.buf[10]) {
        this.skip();
        continue;
      }
      const bodyLength = this.buf[9]! + 1;
      if (this.buf.length < HEADER_BYTES + bodyLength) break;
      const body = this.buf.subarray(HEADER_BYTES, HEADER_BYTES + bodyLength);
      if (crc8(body, 0, bodyLength - 1) !== body[bodyLength - 1]) {
        this.skip();
        continue;
      }
      out.push({ dst_id: this.buf.readUInt16BE(3), src_id: this.buf.readUInt16BE(6), seq: this.buf[8]!, body: Buffer.from(body) });
      this.buf = this.buf.subarray(HEADER_BYTES + bodyLength);
    }
    if (this.buf.length > this.max_bytes) {
      this.discarded += this.buf.length;
      this.buf = Buffer.alloc(0);
    }
    return out;
  }

  private skip(): void {
    this.bad_crc++;
    this.discarded += 1;
    this.buf = this.buf.subarray(1);
  }

  private findSentinel(): number {
    for (let i = this.buf.indexOf(SENTINEL[0]!); i >= 0 && i < this.buf.length; i = this.buf.indexOf(SENTINEL[0]!, i + 1)) {
      if (i + 1 >= this.buf.length || this.buf[i + 1] === SENTINEL[1]) return i;
    }
    return -1;
  }
}
