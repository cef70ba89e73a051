import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCoded } from '../../../platform/errors.ts';
import { parseDetectorData } from './parse.ts';
import { parseDateTimeZone, parseOffset } from './time.ts';

const fixture = (name: string): string => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const CHICAGO = { time_zone: 'America/Chicago', speed_unit: 'kmh' as const, sample_interval_ms: 20_000 };

describe('TMDD time', () => {
  it.each([
    [{ date: '20261127', time: '080000', offset: '-0600' }, Date.UTC(2026, 10, 27, 14, 0, 0)],
    [{ date: '20261127', time: '080000', offset: '-06:00' }, Date.UTC(2026, 10, 27, 14, 0, 0)],
    [{ date: '20261127', time: '080000', offset: '01:00' }, Date.UTC(2026, 10, 27, 7, 0, 0)], // C2C-RI writes no sign
    [{ date: '20261127', time: '080000500' }, Date.UTC(2026, 10, 27, 14, 0, 0, 500)], // CHARM fraction, feed zone (CST)
    [{ date: '20260701', time: '080000' }, Date.UTC(2026, 6, 1, 13, 0, 0)], // CDT in summer
    [{ date: '20260308', time: '030000' }, Date.UTC(2026, 2, 8, 8, 0, 0)], // first hour of CDT
  ])('%j', (v, expected) => {
    expect(parseDateTimeZone(v, 'America/Chicago')).toBe(expected);
  });

  it.each([
    [{ date: '2026-11-27', time: '080000' }, 'YYYYMMDD'],
    [{ date: '20261127', time: '250000' }, 'HHMMSS'],
    [{ date: '20261127', time: '080000', offset: 'CST' }, '±HHMM'],
    [{}, 'YYYYMMDD'],
  ])('rejects %j', (v, problem) => {
    expect(parseDateTimeZone(v, 'America/Chicago')).toContain(problem);
  });

  it('parses offsets to minutes east of UTC', () => {
    expect([parseOffset('-0600'), parseOffset('+05:30'), parseOffset('0100'), parseOffset('-2500')]).toEqual([-360, 330, 60, null]);
  });
});

describe('parseDetectorData', () => {
  it('reads TMDD 3.03 with every variant the fixture holds', () => {
    const { samples, dropped } = parseDetectorData(fixture('waco-tmdd303-detectorDataMsg.xml'), CHICAGO);
    expect(samples).toEqual([
      { detector_id: 'i35-nb-12th-l1', station_id: 'i35-nb-12th', start_ms: Date.UTC(2026, 10, 27, 14, 0, 0), duration_ms: 20_000, volume: 9, occupancy_pct: 7, speed_kmh: 104, status: 'ok' },
      // No count: no data (null), not zero; the interval comes from the time stamp and the cadence.
      { detector_id: 'i35-nb-12th-l2', station_id: 'i35-nb-12th', start_ms: Date.UTC(2026, 10, 27, 14, 0, 0), duration_ms: 20_000, volume: null, occupancy_pct: 0, speed_kmh: 97, status: 'ok' },
      { detector_id: 'i35-nb-12th-l3', station_id: 'i35-nb-12th', start_ms: Date.UTC(2026, 10, 27, 14, 0, 0, 500), duration_ms: 20_000, volume: 0, occupancy_pct: 0, speed_kmh: 88, status: 'degraded' },
      // Every value a sentinel: the sample stays (the detector reported), its values are dropped and counted.
      { detector_id: 'ramp-7', station_id: 'ramp-7', start_ms: Date.UTC(2026, 10, 27, 14, 0, 0), duration_ms: 20_000, volume: null, occupancy_pct: null, speed_kmh: null, status: 'failed' },
    ]);
    expect(dropped).toEqual({ count_sentinel: 1, occupancy_sentinel: 1, speed_sentinel: 1, missing_detector_id: 1 });
  });

  it('reads the TMDD 3.0 CHARM fixture: detector-list, xsi:type extensions, no offset', () => {
    const { samples, dropped } = parseDetectorData(fixture('rws-charm-tmdd301-detectorDataMsg-fixture.xml'), {
      time_zone: 'Europe/Amsterdam', speed_unit: 'kmh', sample_interval_ms: 60_000,
    });
    expect(samples).toHaveLength(1);
    expect(samples[0]).toMatchObject({ detector_id: 'detectorId1', station_id: 'deviceId', volume: 1, occupancy_pct: 0, speed_kmh: null });
    // 2001-12-31 12:00 in Amsterdam (CET, UTC+1); no end-time, so the configured cadence gives the duration.
    expect(samples[0]!.start_ms).toBe(Date.UTC(2001, 11, 31, 11, 0, 0));
    expect(samples[0]!.duration_ms).toBe(60_000);
    expect(dropped).toEqual({ speed_sentinel: 1 });
  });

  it('converts mph feeds to km/h once, at the boundary', () => {
    const xml = fixture('waco-tmdd303-detectorDataMsg.xml');
    const { samples } = parseDetectorData(xml, { ...CHICAGO, speed_unit: 'mph' });
    expect(samples[0]!.speed_kmh).toBeCloseTo(104 * 1.609344, 9);
  });

  it.each([
    ['<not-closed>', 'not well-formed XML'],
    ['<?xml version="1.0"?><tmdd:detectorInventoryMsg xmlns:tmdd="x"/>', 'found detectorInventoryMsg'],
    ['', 'empty document'],
    ['<?xml version="1.0"?><other/>', 'found other'],
  ])('refuses %j with a coded error', (xml, message) => {
    try {
      parseDetectorData(xml, CHICAGO);
      expect.unreachable();
    } catch (err) {
      expect(isCoded(err, 'WF_ERR_FEED_PARSE')).toBe(true);
      expect((err as Error).message).toContain(message);
    }
  });
});
