import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StationSchema } from '../../protocol/index.ts';
import { deriveProfile, demandProfile } from './demand-profile.ts';
import { distanceKm, parseNetwork, wacoNetwork } from './network.ts';

describe('the Waco network', () => {
  const net = wacoNetwork();

  it('has at least 60 road stations and 20 signalised intersections, every station a valid protocol station', () => {
    expect(net.stations.length).toBeGreaterThanOrEqual(60);
    expect(net.intersections.length).toBeGreaterThanOrEqual(20);
    for (const s of [...net.stations, ...net.approachStations]) expect(() => StationSchema.parse({ ...s })).not.toThrow();
    expect(new Set([...net.stations, ...net.approachStations].map((s) => s.station_id)).size).toBe(net.stations.length + net.approachStations.length);
  });

  it('lies in Waco, and each station sits on its corridor in travel order', () => {
    for (const s of net.stations) {
      expect(distanceKm([31.55, -97.15], [s.lat, s.lon]), s.station_id).toBeLessThan(15);
    }
    for (const c of net.corridors) {
      const km = c.station_ids.map((id) => net.stations.find((s) => s.station_id === id)!.km);
      expect(km, c.corridor_id).toEqual([...km].sort((a, b) => a - b));
      // Every station is within 300 m of a point of its road's drawn path.
      for (const id of c.station_ids) {
        const s = net.stations.find((x) => x.station_id === id)!;
        expect(Math.min(...c.path.map((p) => distanceKm(p, [s.lat, s.lon]))), id).toBeLessThan(0.3);
      }
    }
  });

  it('names the problem in a bad file: the field and what is wrong', () => {
    const text = readFileSync(new URL('./network.yaml', import.meta.url), 'utf8');
    expect(() => parseNetwork(text.replace('posted_kmh: 113', 'posted_kmh: fast'), 'net.yaml')).toThrow(/^net\.yaml: roads\.0\.posted_kmh: /);
    expect(() => parseNetwork(text.replace('S: valley-mills-nb-franklin', 'S: valley-mills-nb-nowhere'), 'net.yaml')).toThrow(/approach S names station "valley-mills-nb-nowhere"/);
  });

  it('keeps the demand profile equal to what its real source gives', () => {
    const csv = readFileSync(new URL('../../data/real/uci-metro-i94/Metro_Interstate_Traffic_Volume.csv', import.meta.url), 'utf8');
    expect(deriveProfile(csv)).toEqual(demandProfile());
  });
});
