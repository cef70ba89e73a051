import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isTimeZone, parsePosixTz, parseTzif, readZone, TzifError, zoneOffsetMinutes, type ZoneRules } from './time-zones.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'zoneinfo');
const at = (iso: string) => Date.parse(iso) / 1000;
const minutes = (rules: ZoneRules, iso: string) => rules.offsetSeconds(at(iso)) / 60;

/** An independent reference: the runtime's ICU, asked for the offset as text ("GMT-05:00"). */
function icuOffsetMinutes(t_s: number, zone: string, formats: Map<string, Intl.DateTimeFormat>): number {
  let fmt = formats.get(zone);
  if (!fmt) formats.set(zone, (fmt = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })));
  const name = fmt.formatToParts(new Date(t_s * 1000)).find((p) => p.type === 'timeZoneName')!.value;
  const m = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
  if (!m) throw new Error(`unexpected offset text ${name}`);
  return m[1] ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

describe('compiled zone files (TZif)', () => {
  it('gives the offsets each zone is known to have, either side of its changes and past its table', () => {
    const chicago = readZone(FIXTURES, 'America/Chicago');
    // 2026: clocks go forward at 02:00 CST on 8 March (08:00 UTC), back at 02:00 CDT on 1 November (07:00 UTC).
    expect(minutes(chicago, '2026-03-08T07:59:59Z')).toBe(-360);
    expect(minutes(chicago, '2026-03-08T08:00:00Z')).toBe(-300);
    expect(minutes(chicago, '2026-11-01T06:59:59Z')).toBe(-300);
    expect(minutes(chicago, '2026-11-01T07:00:00Z')).toBe(-360);
    // Past the file's last transition (2037) the footer's rule answers.
    expect(minutes(chicago, '2100-07-01T12:00:00Z')).toBe(-300);
    expect(minutes(chicago, '2100-01-01T12:00:00Z')).toBe(-360);
    expect(minutes(chicago, '2100-03-14T07:59:59Z')).toBe(-360); // second Sunday of March 2100 is the 14th
    expect(minutes(chicago, '2100-03-14T08:00:00Z')).toBe(-300);

    // Ireland's standard time is summer time (IST, +1); winter is its negative daylight saving.
    const dublin = readZone(FIXTURES, 'Europe/Dublin');
    expect(minutes(dublin, '2026-03-29T00:59:59Z')).toBe(0);
    expect(minutes(dublin, '2026-03-29T01:00:00Z')).toBe(60);
    expect(minutes(dublin, '2090-01-15T12:00:00Z')).toBe(0);
    expect(minutes(dublin, '2090-07-15T12:00:00Z')).toBe(60);

    const sydney = readZone(FIXTURES, 'Australia/Sydney'); // southern hemisphere: summer spans New Year
    expect(minutes(sydney, '2026-01-15T00:00:00Z')).toBe(660);
    expect(minutes(sydney, '2026-07-15T00:00:00Z')).toBe(600);
    expect(minutes(sydney, '2095-12-31T23:00:00Z')).toBe(660);

    expect(minutes(readZone(FIXTURES, 'Asia/Kolkata'), '2026-06-01T00:00:00Z')).toBe(330);
    expect(minutes(readZone(FIXTURES, 'Asia/Kathmandu'), '2026-06-01T00:00:00Z')).toBe(345);
    expect(minutes(readZone(FIXTURES, 'America/St_Johns'), '2026-01-15T00:00:00Z')).toBe(-210);
    const chatham = readZone(FIXTURES, 'Pacific/Chatham');
    expect(minutes(chatham, '2026-01-15T00:00:00Z')).toBe(825);
    expect(minutes(chatham, '2026-07-15T00:00:00Z')).toBe(765);
    // Greenland moved its standard time forward an hour in 2023; Brazil stopped daylight saving in 2019.
    const nuuk = readZone(FIXTURES, 'America/Nuuk');
    expect(minutes(nuuk, '2022-01-15T00:00:00Z')).toBe(-180);
    expect(minutes(nuuk, '2026-01-15T00:00:00Z')).toBe(-120);
    expect(minutes(nuuk, '2026-07-15T00:00:00Z')).toBe(-60);
    const saoPaulo = readZone(FIXTURES, 'America/Sao_Paulo');
    expect(minutes(saoPaulo, '2018-01-15T00:00:00Z')).toBe(-120);
    expect(minutes(saoPaulo, '2026-01-15T00:00:00Z')).toBe(-180);
    expect(minutes(readZone(FIXTURES, 'UTC'), '2026-01-15T00:00:00Z')).toBe(0);
  });

  it("agrees with the runtime's ICU every day from 1970 to 2045 and at every change the file gives", () => {
    const formats = new Map<string, Intl.DateTimeFormat>();
    const zones = ['America/Chicago', 'Europe/Dublin', 'Australia/Sydney', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/Nuuk', 'Pacific/Chatham', 'America/Sao_Paulo', 'America/St_Johns', 'UTC'];
    const from = at('1970-01-01T00:00:00Z');
    const to = at('2045-01-01T00:00:00Z');
    let changes = 0;
    for (const zone of zones) {
      const rules = readZone(FIXTURES, zone);
      const disagree: string[] = [];
      const check = (t: number) => {
        const ours = rules.offsetSeconds(t) / 60;
        const icu = icuOffsetMinutes(t, zone, formats);
        if (ours !== icu) disagree.push(`${new Date(t * 1000).toISOString()}: ${ours} vs ICU ${icu}`);
      };
      for (let t = from + 43_200; t < to; t += 86_400) check(t);
      // Every change, found hour by hour from the file, then to the second: both sides agree there too.
      let prev = rules.offsetSeconds(from);
      for (let t = from + 3_600; t < to; t += 3_600) {
        const now = rules.offsetSeconds(t);
        if (now === prev) continue;
        let lo = t - 3_600;
        let hi = t;
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2);
          if (rules.offsetSeconds(mid) === prev) lo = mid;
          else hi = mid;
        }
        check(lo);
        check(hi);
        changes++;
        prev = now;
      }
      expect(disagree.slice(0, 5), zone).toEqual([]);
    }
    expect(changes).toBeGreaterThan(500); // the walk really crossed the zones' changes
  });

  it('refuses files it must not use, naming the file and what is wrong', () => {
    const chicago = readFileSync(join(FIXTURES, 'America/Chicago'));
    expect(() => parseTzif(chicago.subarray(0, 2_000), 'Chicago')).toThrow(/Chicago: truncated/);
    expect(() => parseTzif(Buffer.from('# tzdb zone.tab\n'.repeat(4)), 'zone.tab')).toThrow(/no "TZif" magic/);
    expect(() => parseTzif(readFileSync(join(FIXTURES, 'right/UTC')), 'right/UTC')).toThrow(/right\/UTC: has a leap-second table/);
    expect(() => readZone(FIXTURES, 'right/UTC')).toThrow(/not an IANA zone name/);
    expect(() => readZone(FIXTURES, '../fixtures/zoneinfo/UTC')).toThrow(TzifError);
    expect(() => readZone(FIXTURES, 'Mars/Olympus_Mons')).toThrow(/ENOENT/);
  });
});

describe('POSIX TZ rules', () => {
  it('reads the forms the footers use, with their default times and extended hours', () => {
    expect(parsePosixTz('<+0545>-5:45').offsetSeconds(at('2026-06-01T00:00:00Z'))).toBe(345 * 60);
    // Greenland: changes at -01:00 and 00:00 local, which RFC 8536 allows.
    const nuuk = parsePosixTz('<-02>2<-01>,M3.5.0/-1,M10.5.0/0');
    // Last Sunday of March 2026 is the 29th; "-1" is 23:00 on the 28th, local standard time (-02): 01:00 UTC.
    expect(nuuk.offsetSeconds(at('2026-03-29T00:59:59Z'))).toBe(-7200);
    expect(nuuk.offsetSeconds(at('2026-03-29T01:00:00Z'))).toBe(-3600);
    // Daylight saving all year: from Jan 1 00:00 to "Dec 31 25:00".
    const always = parsePosixTz('EST5EDT,0/0,J365/25');
    for (const iso of ['2026-01-01T05:00:00Z', '2026-07-01T00:00:00Z', '2026-12-31T23:00:00Z']) expect(always.offsetSeconds(at(iso))).toBe(-4 * 3600);
    // Julian days never count 29 February: J60 is 1 March in every year; zero-based 59 is 29 February in a leap year.
    const julian = parsePosixTz('AAA0BBB,J60/0,300/0');
    expect(julian.offsetSeconds(at('2028-02-29T12:00:00Z'))).toBe(0);
    expect(julian.offsetSeconds(at('2028-03-01T00:00:00Z'))).toBe(3600);
    const zeroBased = parsePosixTz('AAA0BBB,59/0,300/0');
    expect(zeroBased.offsetSeconds(at('2028-02-28T23:59:59Z'))).toBe(0);
    expect(zeroBased.offsetSeconds(at('2028-02-29T00:00:00Z'))).toBe(3600);
    // A daylight name with no rule takes POSIX's US default (second Sunday of March to first of November).
    const usDefault = parsePosixTz('CST6CDT');
    expect(usDefault.offsetSeconds(at('2026-03-08T08:00:00Z'))).toBe(-5 * 3600);
    expect(usDefault.offsetSeconds(at('2026-11-01T07:00:00Z'))).toBe(-6 * 3600);
  });

  it('says what is wrong with a rule it cannot read', () => {
    expect(() => parsePosixTz('CST')).toThrow(/needs an offset after the standard abbreviation/);
    expect(() => parsePosixTz('C6')).toThrow(/zone abbreviation of three or more letters/);
    expect(() => parsePosixTz('CST6CDT,M13.1.0,M11.1.0')).toThrow(/impossible day rule "M13.1.0"/);
    expect(() => parsePosixTz('CST6CDT,M3.2.0')).toThrow(/needs "," between the start and end rules/);
    expect(() => parsePosixTz('CST6CDT,M3.2.0/200,M11.1.0')).toThrow(/200 hours \(at most 167\)/);
    expect(() => parsePosixTz('<+01-1')).toThrow(/unclosed "<"/);
  });
});

describe('zoneOffsetMinutes and isTimeZone', () => {
  const saved = { tzdir: process.env.TZDIR, DateTimeFormat: Intl.DateTimeFormat };
  let formatsMade = 0;
  beforeAll(() => {
    process.env.TZDIR = FIXTURES;
    // Count the Intl formatters made: where the zone has a file, none should be.
    Intl.DateTimeFormat = new Proxy(saved.DateTimeFormat, {
      construct(target, args: ConstructorParameters<typeof Intl.DateTimeFormat>) {
        formatsMade++;
        return new target(...args);
      },
    });
    return () => {
      process.env.TZDIR = saved.tzdir;
      if (saved.tzdir === undefined) delete process.env.TZDIR;
      Intl.DateTimeFormat = saved.DateTimeFormat;
    };
  });
  afterEach(() => {
    formatsMade = 0;
  });

  it("answers from the tz database's file without loading ICU's formatters", () => {
    expect(isTimeZone('America/Chicago')).toBe(true);
    expect(zoneOffsetMinutes(Date.parse('2026-03-08T08:00:00Z'), 'America/Chicago')).toBe(-300);
    expect(zoneOffsetMinutes(Date.parse('2026-03-08T07:59:59.999Z'), 'America/Chicago')).toBe(-360);
    expect(formatsMade).toBe(0);
  });

  it('falls back to the runtime for a zone the database lacks, and refuses unknown names', () => {
    expect(isTimeZone('Asia/Tokyo')).toBe(true); // not among the fixture files
    expect(zoneOffsetMinutes(Date.parse('2026-06-01T00:00:00Z'), 'Asia/Tokyo')).toBe(540);
    // Across a daylight-saving change, to the millisecond (New York: no fixture file either).
    expect(zoneOffsetMinutes(Date.parse('2026-03-08T06:59:59.999Z'), 'America/New_York')).toBe(-300);
    expect(zoneOffsetMinutes(Date.parse('2026-03-08T07:00:00Z'), 'America/New_York')).toBe(-240);
    expect(zoneOffsetMinutes(Date.parse('2026-11-01T05:59:59.999Z'), 'America/New_York')).toBe(-240);
    expect(zoneOffsetMinutes(Date.parse('2026-11-01T06:00:00Z'), 'America/New_York')).toBe(-300);
    expect(formatsMade).toBeGreaterThan(0);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('../../etc/passwd')).toBe(false);
    expect(isTimeZone('right/UTC')).toBe(false); // a file, but with leap seconds, and not a name ICU knows
  });
});
