/**
 * TMDD DateTimeZone → UTC epoch ms. `date` is YYYYMMDD; `time` is HHMMSS with optional fractional digits
 * (RWS/CHARM writes HHMMSS000); `offset` is ±HHMM, ±HH:MM or HH:MM (the C2C-RI test data) and optional: when
 * absent the feed's configured IANA time zone applies (NDOT, CHARM). See docs/tmdd.md.
 */

import { zoneOffsetMinutes } from '../../../platform/time-zones.ts';

export interface DateTimeZone {
  date?: unknown;
  time?: unknown;
  offset?: unknown;
}

/** Parses an offset to minutes east of UTC, or returns null if it is not one of the accepted forms. */
export function parseOffset(offset: string): number | null {
  const m = /^([+-])?(\d{2}):?(\d{2})$/.exec(offset.trim());
  if (!m) return null;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  if (Number(m[2]) > 14 || Number(m[3]) > 59) return null;
  return m[1] === '-' ? -minutes : minutes;
}

/** Returns epoch ms, or a string saying what is wrong. */
export function parseDateTimeZone(v: DateTimeZone, time_zone: string): number | string {
  const date = String(v.date ?? '').trim();
  const time = String(v.time ?? '').trim();
  const dm = /^(\d{4})(\d{2})(\d{2})$/.exec(date);
  if (!dm) return `date "${date}" is not YYYYMMDD`;
  const tm = /^(\d{2})(\d{2})(\d{2})(\d*)$/.exec(time);
  if (!tm || Number(tm[1]) > 23 || Number(tm[2]) > 59 || Number(tm[3]) > 60) return `time "${time}" is not HHMMSS[fraction]`;
  const fraction = tm[4] ? Math.round(Number(`0.${tm[4]}`) * 1000) : 0;
  const local = Date.UTC(Number(dm[1]), Number(dm[2]) - 1, Number(dm[3]), Number(tm[1]), Number(tm[2]), Number(tm[3]), fraction);
  if (Number.isNaN(local)) return `date "${date}" is not a calendar date`;
  if (v.offset !== undefined && v.offset !== null && String(v.offset).trim() !== '') {
    const off = parseOffset(String(v.offset));
    if (off === null) return `offset "${String(v.offset)}" is not ±HHMM or ±HH:MM`;
    return local - off * 60_000;
  }
  // Local wall time in the feed's zone: subtract the zone's offset, checked again at the result (DST edges).
  const first = local - zoneOffsetMinutes(local, time_zone) * 60_000;
  return local - zoneOffsetMinutes(first, time_zone) * 60_000;
}
