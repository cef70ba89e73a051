/**
 * Wavetronix SmartSensor 105 wire protocol: pure, no I/O. ASCII and polled (reference: docs/serial-detectors.md,
 * after MnDOT IRIS comm/ss105):
 *
 *   request   "Z0" + drop (4 decimal digits) + command (2 letters) + args + CR
 *   response  "Z0" + drop + command + payload + checksum (4 hex digits: the sum of the payload's character
 *             codes, modulo 0x10000) + "~"
 *
 * "XD" (binned interval data) payload, hexadecimal ASCII: 8 digits for the interval end in seconds since
 * 2000-01-01T00:00:00Z, then 29 per lane: lane (1), count (8), mean speed mph (4), occupancy in scans of 1024
 * (4), small / medium / large share of the count ×1024 (4 each).
 */

export const EPOCH_2000_MS = Date.UTC(2000, 0, 1);
export const ERROR_PAYLOADS = ['Failure', 'Invalid', 'Empty'] as const;

export function request(drop: number, command = 'XD', args = ''): Buffer {
  return Buffer.from(`Z0${String(drop).padStart(4, '0')}${command}${args}\r`, 'ascii');
}

export function checksum(payload: string): string {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) sum = (sum + payload.charCodeAt(i)) & 0xffff;
  return sum.toString(16).toUpperCase().padStart(4, '0');
}

export interface Frame {
  drop: number;
  command: string;
  payload: string;
}

export type FrameResult = { ok: true; frame: Frame } | { ok: false; reason: 'bad_checksum' | 'bad_frame' | 'device_error'; detail: string; drop: number | null };

/** One response line (from "Z0" to "~" inclusive) → its parts, with the checksum verified. */
export function parseFrame(line: string): FrameResult {
  const m = /^Z0(\d{4})([A-Z]{2})(.*)~$/s.exec(line);
  if (!m) return { ok: false, reason: 'bad_frame', detail: `not a Z0dddd…~ response: ${JSON.stringify(line.slice(0, 40))}`, drop: null };
  const drop = Number(m[1]);
  const body = m[3]!;
  const err = ERROR_PAYLOADS.find((e) => body.startsWith(e));
  if (err) return { ok: false, reason: 'device_error', detail: `sensor at drop ${drop} answered ${err}`, drop };
  if (body.length < 4) return { ok: false, reason: 'bad_frame', detail: 'response too short for a checksum', drop };
  const payload = body.slice(0, -4);
  const sum = body.slice(-4).toUpperCase();
  if (checksum(payload) !== sum) return { ok: false, reason: 'bad_checksum', detail: `checksum ${sum} does not match ${checksum(payload)}`, drop };
  return { ok: true, frame: { drop, command: m[2]!, payload } };
}

export interface LaneInterval {
  lane: number;
  count: number;
  speed_mph: number;
  occupancy_scans: number;
  shares_1024: [number, number, number];
}

export interface BinnedData {
  end_ms: number;
  lanes: LaneInterval[];
}

const LANE_CHARS = 29;

/** Decodes an XD payload, or returns a string saying what is wrong. */
export function decodeBinned(payload: string): BinnedData | string {
  if (!/^[0-9A-Fa-f]*$/.test(payload)) return 'binned payload is not hexadecimal';
  if (payload.length < 8 || (payload.length - 8) % LANE_CHARS !== 0) return `binned payload of ${payload.length} characters is not 8 + 29 × lanes`;
  const end_ms = EPOCH_2000_MS + Number.parseInt(payload.slice(0, 8), 16) * 1000;
  const lanes: LaneInterval[] = [];
  for (let at = 8; at < payload.length; at += LANE_CHARS) {
    const f = (from: number, len: number): number => Number.parseInt(payload.slice(at + from, at + from + len), 16);
    lanes.push({ lane: f(0, 1), count: f(1, 8), speed_mph: f(9, 4), occupancy_scans: f(13, 4), shares_1024: [f(17, 4), f(21, 4), f(25, 4)] });
  }
  return { end_ms, lanes };
}

/** The sensor side, for simulators and tests. */
export function encodeBinned(d: BinnedData): string {
  const hex = (v: number, len: number) => Math.max(0, Math.round(v)).toString(16).toUpperCase().padStart(len, '0').slice(-len);
  return (
    hex((d.end_ms - EPOCH_2000_MS) / 1000, 8) +
    d.lanes.map((l) => hex(l.lane, 1) + hex(l.count, 8) + hex(l.speed_mph, 4) + hex(l.occupancy_scans, 4) + l.shares_1024.map((s) => hex(s, 4)).join('')).join('')
  );
}

export function response(drop: number, command: string, payload: string): Buffer {
  return Buffer.from(`Z0${String(drop).padStart(4, '0')}${command}${payload}${checksum(payload)}~`, 'ascii');
}

/**
 * Splits a byte stream into response lines. Noise before a "Z0" is discarded and counted; a line that grows
 * past `max_bytes` without its "~" is discarded too, so a babbling line cannot grow memory.
 */
export class Framer {
  private buf = '';
  discarded = 0;
  private readonly max_bytes: number;

  constructor(max_bytes = 4_096) {
    this.max_bytes = max_bytes;
  }

  push(bytes: Buffer): string[] {
    this.buf += bytes.toString('latin1');
    const out: string[] = [];
    for (;;) {
      const start = this.buf.indexOf('Z0');
      if (start < 0) {
        // Keep a trailing "Z" that may be the start of the next header.
        const keep = this.buf.endsWith('Z') ? 1 : 0;
        this.discarded += this.buf.length - keep;
        this.buf = this.buf.slice(this.buf.length - keep);
        return out;
      }
      if (start > 0) {
        this.discarded += start;
        this.buf = this.buf.slice(start);
      }
      const end = this.buf.indexOf('~');
      if (end < 0) {
        if (this.buf.length > this.max_bytes) {
          this.discarded += this.buf.length;
          this.buf = '';
        }
        return out;
      }
      // A new header before the terminator means the earlier line was cut: drop it and resynchronise.
      const restart = this.buf.indexOf('Z0', 2);
      if (restart > 0 && restart < end) {
        this.discarded += restart;
        this.buf = this.buf.slice(restart);
        continue;
      }
      out.push(this.buf.slice(0, end + 1));
      this.buf = this.buf.slice(end + 1);
    }
  }
}
