/**
 * IANA time zones: a zone's offset from UTC at an instant, read from the system's compiled tz database (TZif
 * files, RFC 8536, under `/usr/share/zoneinfo` or `$TZDIR`), with `Intl` for a zone that has no usable file.
 *
 * Why not `Intl` alone: creating any `Intl.DateTimeFormat` loads ICU's locale and calendar data, 8.4 MB resident
 * for the life of the process (6.6 MB of the node binary's pages, 1.8 MB of heap). On an edge board that is an
 * eighth of its memory budget, spent on what is a table lookup in a 1–4 KB file that the board's operating
 * system already keeps up to date. A lookup also takes about 0.05 µs, formatting a date with Intl about 4 µs.
 *
 * The system's database and Node's bundled ICU can be different tz releases; where they disagree (a government
 * that changed its rules between the two), the system's, which its package manager updates, is the better one.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Offsets and daylight-saving rules of one zone, as compiled into a TZif file. */
export interface ZoneRules {
  /** Offset from UTC in seconds at `t_s` seconds since the epoch (east positive: CST is -21600). */
  offsetSeconds(t_s: number): number;
}

export class TzifError extends Error {
  override name = 'TzifError';
}

const HEADER_BYTES = 44;

interface Counts {
  isut: number;
  isstd: number;
  leap: number;
  time: number;
  type: number;
  char: number;
}

/**
 * Parse a TZif file (versions 1 to 4). Leap-second tables ("right/" zones) are refused: civil time in
 * WacoFlow is POSIX time, without leap seconds.
 */
export function parseTzif(bytes: Uint8Array, source = 'TZif data'): ZoneRules {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = (at: number): { version: number; counts: Counts } => {
    if (bytes.length < at + HEADER_BYTES) throw new TzifError(`${source}: ends inside a header at byte ${at}`);
    if (view.getUint32(at) !== 0x545a6966) throw new TzifError(`${source}: no "TZif" magic at byte ${at}; not a compiled time zone file`);
    const u = (i: number) => view.getUint32(at + 20 + 4 * i);
    return { version: bytes[at + 4]!, counts: { isut: u(0), isstd: u(1), leap: u(2), time: u(3), type: u(4), char: u(5) } };
  };
  const bodyBytes = (c: Counts, timeSize: 4 | 8) =>
    c.time * timeSize + c.time + c.type * 6 + c.char + c.leap * (timeSize + 4) + c.isstd + c.isut;

  const v1 = header(0);
  let at = HEADER_BYTES;
  let counts = v1.counts;
  let timeSize: 4 | 8 = 4;
  if (v1.version >= 0x32) {
    // Version 2 and later repeat the data with 64-bit times after the 32-bit block, then a POSIX TZ footer.
    at += bodyBytes(v1.counts, 4);
    counts = header(at).counts;
    at += HEADER_BYTES;
    timeSize = 8;
  }
  if (counts.leap > 0) throw new TzifError(`${source}: has a leap-second table; use the zone without leap seconds`);
  if (counts.type === 0) throw new TzifError(`${source}: has no local time types`);
  const end = at + bodyBytes(counts, timeSize);
  if (bytes.length < end) throw new TzifError(`${source}: truncated (${bytes.length} bytes, its header needs ${end})`);

  const transitions = new Float64Array(counts.time);
  for (let i = 0; i < counts.time; i++) {
    transitions[i] = timeSize === 8 ? Number(view.getBigInt64(at + 8 * i)) : view.getInt32(at + 4 * i);
  }
  at += counts.time * timeSize;
  const typeOf = bytes.slice(at, at + counts.time);
  at += counts.time;
  const offsets = new Int32Array(counts.type);
  for (let i = 0; i < counts.type; i++) offsets[i] = view.getInt32(at + 6 * i);
  for (const t of typeOf) if (t >= counts.type) throw new TzifError(`${source}: a transition names local time type ${t} of ${counts.type}`);

  let footer: ZoneRules | null = null;
  if (timeSize === 8) {
    // "\n<POSIX TZ string>\n"; an empty string means no rule beyond the last transition.
    const text = Buffer.from(bytes.buffer, bytes.byteOffset + end, bytes.length - end).toString('latin1');
    const m = /^\n([^\n]*)\n/.exec(text);
    if (!m) throw new TzifError(`${source}: the POSIX TZ footer is missing after byte ${end}`);
    if (m[1] !== '') footer = parsePosixTz(m[1]!, source);
  }

  const last = counts.time - 1;
  return {
    offsetSeconds(t_s: number): number {
      if (last < 0) return footer ? footer.offsetSeconds(t_s) : offsets[0]!; // a rule only (UTC, fixed offsets)
      // Before the first transition the first local time type applies (RFC 8536 §3.2).
      if (t_s < transitions[0]!) return offsets[0]!;
      if (t_s >= transitions[last]!) return footer ? footer.offsetSeconds(t_s) : offsets[typeOf[last]!]!;
      let lo = 0;
      let hi = last; // transitions[lo] <= t_s < transitions[hi]
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        if (transitions[mid]! <= t_s) lo = mid;
        else hi = mid;
      }
      return offsets[typeOf[lo]!]!;
    },
  };
}

/** A day rule of a POSIX TZ string: Julian day without Feb 29 (`Jn`), zero-based day (`n`), or `Mm.w.d`. */
type DayRule = { kind: 'J'; day: number } | { kind: 'n'; day: number } | { kind: 'M'; month: number; week: number; weekday: number };

interface Change {
  day: DayRule;
  /** Local time of day of the change, seconds (may be negative or past 24 h: RFC 8536 §3.3.1). */
  at_s: number;
}

const DAY_S = 86_400;

/** Epoch day of a day rule in `year`. */
function epochDay(rule: DayRule, year: number): number {
  const jan1 = Date.UTC(year, 0, 1) / (DAY_S * 1000);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  switch (rule.kind) {
    case 'J':
      return jan1 + rule.day - 1 + (leap && rule.day >= 60 ? 1 : 0);
    case 'n':
      return jan1 + rule.day;
    case 'M': {
      const first = Date.UTC(year, rule.month - 1, 1) / (DAY_S * 1000);
      const firstWeekday = (((first + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
      let day = first + ((rule.weekday - firstWeekday + 7) % 7) + (rule.week - 1) * 7;
      const nextMonth = Date.UTC(year, rule.month, 1) / (DAY_S * 1000);
      while (day >= nextMonth) day -= 7; // week 5 means the last such weekday of the month
      return day;
    }
  }
}

/**
 * Parse a POSIX TZ string as TZif footers carry it (`CST6CDT,M3.2.0,M11.1.0`, `<+0545>-5:45`,
 * `IST-1GMT0,M10.5.0,M3.5.0/1`), with RFC 8536's extensions (transition hours from -167 to 167).
 */
export function parsePosixTz(tz: string, source = 'TZ string'): ZoneRules {
  let i = 0;
  const fail = (what: string): never => {
    throw new TzifError(`${source}: POSIX TZ string "${tz}" ${what} at character ${i + 1}`);
  };
  const name = (): void => {
    if (tz[i] === '<') {
      const close = tz.indexOf('>', i);
      if (close < 0) fail('has an unclosed "<"');
      i = close + 1;
      return;
    }
    const m = /^[A-Za-z]{3,}/.exec(tz.slice(i));
    if (!m) fail('needs a zone abbreviation of three or more letters');
    i += m![0].length;
  };
  /** [+-]hh[:mm[:ss]] in seconds, or null where there is none. */
  const clock = (maxHours: number): number | null => {
    const m = /^([+-]?)(\d{1,3})(?::(\d{2}))?(?::(\d{2}))?/.exec(tz.slice(i));
    if (!m) return null;
    const hours = Number(m[2]);
    if (hours > maxHours) fail(`has ${hours} hours (at most ${maxHours})`);
    i += m[0].length;
    const s = hours * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
    return m[1] === '-' ? -s : s;
  };
  const change = (): Change => {
    let day: DayRule;
    const m = /^(?:J(\d{1,3})|M(\d{1,2})\.(\d)\.(\d)|(\d{1,3}))/.exec(tz.slice(i));
    if (!m) return fail('needs a day rule (Jn, n or Mm.w.d)');
    if (m[1] !== undefined) day = { kind: 'J', day: Number(m[1]) };
    else if (m[2] !== undefined) day = { kind: 'M', month: Number(m[2]), week: Number(m[3]), weekday: Number(m[4]) };
    else day = { kind: 'n', day: Number(m[5]) };
    const bad = day.kind === 'J' ? day.day < 1 || day.day > 365
      : day.kind === 'n' ? day.day > 365
        : day.month < 1 || day.month > 12 || day.week < 1 || day.week > 5 || day.weekday > 6;
    if (bad) fail(`has an impossible day rule "${m[0]}"`);
    i += m[0].length;
    let at_s = 2 * 3600; // 02:00 local unless given
    if (tz[i] === '/') {
      i++;
      at_s = clock(167) ?? fail('needs a time after "/"');
    }
    return { day, at_s };
  };

  /** POSIX offsets count hours west of Greenwich; ours count east. */
  const east = (west: number) => (west === 0 ? 0 : -west);
  name();
  const stdOffset = east(clock(24) ?? fail('needs an offset after the standard abbreviation'));
  if (i === tz.length) return { offsetSeconds: () => stdOffset };
  name();
  const dstOffset = tz[i] === ',' || i === tz.length ? stdOffset + 3600 : east(clock(24) ?? fail('has a bad daylight offset'));
  let start: Change = { day: { kind: 'M', month: 3, week: 2, weekday: 0 }, at_s: 7200 };
  let end: Change = { day: { kind: 'M', month: 11, week: 1, weekday: 0 }, at_s: 7200 }; // POSIX's US default
  if (tz[i] === ',') {
    i++;
    start = change();
    if (tz[i] !== ',') fail('needs "," between the start and end rules');
    i++;
    end = change();
  }
  if (i !== tz.length) fail('has trailing characters');

  return {
    offsetSeconds(t_s: number): number {
      const year = new Date((t_s + stdOffset) * 1000).getUTCFullYear();
      // The start is given in standard local time, the end in daylight local time.
      const from = epochDay(start.day, year) * DAY_S + start.at_s - stdOffset;
      const to = epochDay(end.day, year) * DAY_S + end.at_s - dstOffset;
      const daylight = from < to ? t_s >= from && t_s < to : !(t_s >= to && t_s < from);
      return daylight ? dstOffset : stdOffset;
    },
  };
}

/** IANA names only: no path tricks, and never one of the database's own files (`zone.tab`, `posixrules`). */
const ZONE_NAME = /^[A-Z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

/** The zone `name`'s rules from the tz database in folder `dir` (throws where the file is missing or unusable). */
export function readZone(dir: string, name: string): ZoneRules {
  if (!ZONE_NAME.test(name)) throw new TzifError(`"${name}" is not an IANA zone name such as America/Chicago`);
  const file = join(dir, name);
  return parseTzif(readFileSync(file), file);
}

const zones = new Map<string, ZoneRules | null>();

/** The zone's rules from the system's tz database, or null where it has no usable file for that name. */
export function systemZone(name: string): ZoneRules | null {
  let rules = zones.get(name);
  if (rules === undefined) {
    try {
      rules = readZone(process.env.TZDIR || '/usr/share/zoneinfo', name);
    } catch {
      // No such file, or not one this parser reads (leap seconds, damage): Intl answers for this zone.
      rules = null;
    }
    zones.set(name, rules);
  }
  return rules;
}

const intlFormats = new Map<string, Intl.DateTimeFormat>();

const QUARTER_HOUR_MS = 900_000;
/** From here on every zone's offset is a whole quarter hour and changes on a quarter-hour boundary (UTC). */
const QUARTER_HOURS_FROM_MS = Date.UTC(1973, 0, 1);
const intlMemo = new Map<string, Map<number, number>>();

/**
 * The runtime's answer, about 4 µs a call, memoised per UTC quarter hour: the offset at its start holds for all
 * of it, and a walk over years of history (the anomaly baselines) asks millions of times. Cleared when large.
 */
function intlOffsetMinutesMemo(t_ms: number, time_zone: string): number {
  if (t_ms < QUARTER_HOURS_FROM_MS) return intlOffsetMinutes(t_ms, time_zone);
  let memo = intlMemo.get(time_zone);
  if (!memo) intlMemo.set(time_zone, (memo = new Map()));
  const q = Math.floor(t_ms / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
  let off = memo.get(q);
  if (off === undefined) {
    if (memo.size >= 100_000) memo.clear();
    off = intlOffsetMinutes(q, time_zone);
    memo.set(q, off);
  }
  return off;
}

function intlOffsetMinutes(t_ms: number, time_zone: string): number {
  let fmt = intlFormats.get(time_zone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-CA', {
      timeZone: time_zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
    intlFormats.set(time_zone, fmt);
  }
  const p = Object.fromEntries(fmt.formatToParts(new Date(t_ms)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return (asUtc - Math.floor(t_ms / 1000) * 1000) / 60_000;
}

/** The IANA zone's offset from UTC at instant `t_ms`, in whole minutes (Central Standard Time: -360). */
export function zoneOffsetMinutes(t_ms: number, time_zone: string): number {
  const rules = systemZone(time_zone);
  return Math.round(rules ? rules.offsetSeconds(Math.floor(t_ms / 1000)) / 60 : intlOffsetMinutesMemo(t_ms, time_zone));
}

/** Whether this IANA time zone name is known, to the system's tz database or to the runtime. */
export function isTimeZone(name: string): boolean {
  if (systemZone(name)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
