import { describe, expect, it } from 'vitest';
import { wacoNetwork } from './network.ts';
import { scaledNetwork } from './scale.ts';

describe('scaledNetwork', () => {
  const city = wacoNetwork();

  it('grows the city to exactly the asked number of road stations, on feeds and agents of their own', () => {
    const net = scaledNetwork(city, 2_000);
    expect(net.stations).toHaveLength(2_000);
    expect(new Set(net.stations.map((s) => s.station_id)).size).toBe(2_000);
    expect(net.stations.slice(0, city.stations.length)).toEqual(city.stations); // the city itself is untouched
    const inputs = new Map(net.inputs.map((i) => [i.name, i]));
    for (const s of net.stations) expect(inputs.get(s.input), s.station_id).toBeDefined();
    const added = net.inputs.slice(city.inputs.length);
    expect(added.every((i) => i.driver === 'tmdd-http')).toBe(true);
    expect(new Set(added.map((i) => i.agent)).size).toBeGreaterThan(20);
    // Every corridor lists only stations that exist, and every station's corridor exists.
    const ids = new Set(net.stations.map((s) => s.station_id));
    const corridors = new Set(net.corridors.map((c) => c.corridor_id));
    for (const c of net.corridors) for (const id of c.station_ids) expect(ids.has(id), `${c.corridor_id}: ${id}`).toBe(true);
    for (const s of net.stations) expect(corridors.has(s.corridor_id!), s.station_id).toBe(true);
  });

  it('lays districts out apart from the city and from each other', () => {
    const net = scaledNetwork(city, 400);
    const d2 = net.stations.find((s) => s.station_id === 'd2-i35-nb-12th')!;
    const original = city.stations.find((s) => s.station_id === 'i35-nb-12th')!;
    expect(d2.lon - original.lon).toBeCloseTo(0.25, 5);
    expect(d2.corridor_id).toBe('d2-i35-nb');
    expect(d2.km).toBe(original.km);
  });

  it('is the city itself at its own size, and refuses fewer stations', () => {
    expect(scaledNetwork(city, city.stations.length)).toBe(city);
    expect(() => scaledNetwork(city, 10)).toThrow(/at least the city's 80/);
  });
});
