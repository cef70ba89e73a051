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

  it('takes a corridor without a path in the order its stations are listed', () => {
    const listed = [station('first', 31.6, -97.2), station('second', 31.5, -97.2), station('third', 31.7, -97.2), station('alone', 31.5, -97.1, null)];
    expect(Object.fromEntries(downstreamNeighbours(listed, [{ corridor_id: 'c', path: [] }]))).toEqual({ first: 'second', second: 'third' });
    expect(Object.fromEntries(downstreamNeighbours(listed, []))).toEqual({ first: 'second', second: 'third' });
  });

  it('gives the Waco network the same neighbours from its listing as from its paths', () => {
    const net = wacoNetwork();
    expect(downstreamNeighbours(net.stations, [])).toEqual(downstreamNeighbours(net.stations, net.corridors));
  });

  it('follows the Waco network: I-35 northbound runs through downtown to the Brazos, MLK southbound to the stadium', () => {
    const net = wacoNetwork();
    const d = downstreamNeighbours(net.stations, net.corridors);
    expect(['i35-nb-la-salle', 'i35-nb-12th', 'i35-nb-4th-5th'].map((s) => d.get(s))).toEqual(['i35-nb-12th', 'i35-nb-4th-5th', 'i35-nb-brazos']);
    expect(d.get('mlk-sb-elm')).toBe('mlk-sb-stadium');
    expect(d.get('mlk-nb-stadium')).toBe('mlk-nb-elm');
  });
});
