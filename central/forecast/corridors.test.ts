import { describe, expect, it } from 'vitest';
import type { Station } from '../../protocol/index.ts';
import { wacoNetwork } from '../../simulators/waco/network.ts';
import { downstreamNeighbours, positionAlong } from './corridors.ts';

const station = (station_id: string, lat: number, lon: number, corridor_id: string | null = 'c'): Station => ({ station_id, name: station_id, kind: 'freeway', corridor_id, lat, lon, lanes: 2, free_flow_kmh: 100 });

describe('downstreamNeighbours', () => {
  it('orders a corridor’s stations by where they meet its path in travel order, not by their listing', () => {
    // An L-shaped road going north, then east.
    const path: [number, number][] = [[31.50, -97.20], [31.60, -97.20], [31.60, -97.00]];
    const stations = [station('east', 31.601, -97.05), station('south', 31.52, -97.199), station('corner', 31.599, -97.19), station('elsewhere', 31.55, -97.1, null)];
    expect(Object.fromEntries(downstreamNeighbours(stations, [{ corridor_id: 'c', path }]))).toEqual({ south: 'corner', corner: 'east' });
    expect(positionAlong(path, 31.52, -97.2)).toBeLessThan(positionAlong(path, 31.6, -97.1));
  });

  it('gives nothing for a corridor without a path', () => {
    expect(downstreamNeighbours([station('a', 31.5, -97.2), station('b', 31.6, -97.2)], [{ corridor_id: 'c', path: [] }]).size).toBe(0);
  });

  it('follows the Waco network: I-35 northbound runs through downtown to the Brazos, MLK southbound to the stadium', () => {
    const net = wacoNetwork();
    const d = downstreamNeighbours(net.stations, net.corridors);
    expect(['i35-nb-la-salle', 'i35-nb-12th', 'i35-nb-4th-5th'].map((s) => d.get(s))).toEqual(['i35-nb-12th', 'i35-nb-4th-5th', 'i35-nb-brazos']);
    expect(d.get('mlk-sb-elm')).toBe('mlk-sb-stadium');
    expect(d.get('mlk-nb-stadium')).toBe('mlk-nb-elm');
  });
});
