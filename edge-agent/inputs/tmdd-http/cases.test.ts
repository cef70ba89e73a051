/**
 * Golden cases (cases/<name>/case.json + expected.jsonl, reviewed by hand when written), and totals counted by
 * hand from every sample document the project ships.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeAll, measuresOfSample, summarise } from '../../../protocol/index.ts';
import { parseInventory } from './inventory.ts';
import { sampleLine } from './jsonl.ts';
import { parseDetectorData, type TmddParseOptions } from './parse.ts';

const here = import.meta.dirname;
const fixture = (name: string) => readFileSync(join(here, 'fixtures', name), 'utf8');

describe('golden cases', () => {
  const cases = readdirSync(join(here, 'cases'));
  it.each(cases)('%s', (name) => {
    const c = JSON.parse(readFileSync(join(here, 'cases', name, 'case.json'), 'utf8')) as { input: string; options: TmddParseOptions; dropped: Record<string, number> };
    const r = parseDetectorData(readFileSync(join(here, c.input), 'utf8'), c.options);
    const expected = readFileSync(join(here, 'cases', name, 'expected.jsonl'), 'utf8').trim().split('\n');
    expect(r.samples.map(sampleLine)).toEqual(expected);
    expect(r.dropped).toEqual(c.dropped);
  });
});

describe('totals counted by hand from the sample documents', () => {
  it('Iowa SIMS: 13 reports, 3 without lanes (2 failed, 1 off), 20 lanes, 128 vehicles, one lane with no count', () => {
    const xml = fixture('iowa-dot-sims-trafficDetectorData-2017-02-03.xml');
    const r = parseDetectorData(xml, { time_zone: 'America/Chicago', sample_interval_ms: 20_000 });
    expect(r.samples).toHaveLength(20);
    expect(new Set(r.samples.map((s) => s.station_id)).size).toBe(10);
    expect(r.dropped).toEqual({ report_without_lanes: 3 });
    const sum = summarise(mergeAll(r.samples.map(measuresOfSample)));
    expect(sum.volume).toBe(128);
    expect(r.samples.filter((s) => s.volume === null)).toHaveLength(1);
    // Count-weighted speed: Σ speed × count = 11,633 km/h·veh over 128 vehicles.
    expect(sum.speed_kmh).toBeCloseTo(11_633 / 128, 9);
    // 16:41:20–16:41:40 CST on 3 February 2017.
    expect(r.samples.every((s) => s.start_ms === Date.UTC(2017, 1, 3, 22, 41, 20) && s.duration_ms === 20_000)).toBe(true);
  });

  it('NDOT Las Vegas: one lane, 6 vehicles (1 + 5 by class), 3 % occupancy, 46 mph', () => {
    const r = parseDetectorData(fixture('ndot-lasvegas-DetectorData-1min-excerpt.xml'), {
      time_zone: 'America/Los_Angeles', sample_interval_ms: 60_000, speed_unit: 'mph',
    });
    expect(r.samples).toHaveLength(1);
    expect(r.samples[0]).toMatchObject({ detector_id: '481_1_124:l1', station_id: '481_1_124', volume: 6, occupancy_pct: 3, status: 'ok' });
    expect(r.samples[0]!.speed_kmh).toBeCloseTo(46 * 1.609344, 9);
    expect(r.samples[0]!.start_ms + r.samples[0]!.duration_ms).toBe(Date.UTC(2021, 11, 7, 21, 42, 17)); // 13:42:17 PST
  });

  it('RWS CHARM data: one detector, 1 vehicle, speed 255 dropped as unknown', () => {
    const r = parseDetectorData(fixture('rws-charm-tmdd301-detectorDataMsg-fixture.xml'), { time_zone: 'Europe/Amsterdam', sample_interval_ms: 60_000 });
    expect(r.samples.map((s) => [s.detector_id, s.volume, s.speed_kmh])).toEqual([['detectorId1', 1, null]]);
    expect(r.dropped).toEqual({ speed_sentinel: 1 });
  });

  it('VDOT inventory: one station at 38.020767, -79.303659 with its lane-1 detector', () => {
    expect(parseInventory(fixture('vdot-tss-stationList-inventory-excerpt.xml'))).toEqual([
      {
        station_id: 'NOVA-TSS-79148', name: 'TSS Sim Device 209', lat: 38.020767, lon: -79.303659,
        detectors: [{ detector_id: 'NOVA-TSS-79148-1', name: 'TSS Sim Device 209 E Normal Lane 1', lanes: [] }],
      },
    ]);
  });

  it('RWS CHARM inventory: decimal 0.0 positions read as unknown, not as the Gulf of Guinea', () => {
    const stations = parseInventory(fixture('rws-charm-tmdd301-detectorInventoryMsg-fixture.xml'));
    expect(stations.length).toBeGreaterThan(0);
    expect(stations.every((s) => s.lat === null && s.lon === null)).toBe(true);
  });

  it("the simulator's own inventory: micro-degrees and one detector per lane", async () => {
    const { detectorInventoryMsg } = await import('../../../simulators/tmdd-feed/xml.ts');
    const { CORE_STATIONS } = await import('../../../simulators/waco/core.ts');
    const stations = parseInventory(detectorInventoryMsg('TxDOT-WAC', CORE_STATIONS, 'America/Chicago', Date.UTC(2026, 10, 1)));
    expect(stations).toHaveLength(CORE_STATIONS.length);
    for (const [i, s] of stations.entries()) {
      expect(s.lat).toBeCloseTo(CORE_STATIONS[i]!.lat, 6);
      expect(s.detectors.map((d) => d.lanes)).toEqual(Array.from({ length: CORE_STATIONS[i]!.lanes }, (_, l) => [l + 1]));
    }
  });
});
