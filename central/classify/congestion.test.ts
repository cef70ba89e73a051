import { describe, expect, it } from 'vitest';
import { congestionOf, levelOfService } from './congestion.ts';

describe('congestionOf', () => {
  it.each([
    // speed km/h, occupancy %, volume, free-flow, expected
    [105, 6, 40, 113, 'clear'],
    [88, 6, 40, 113, 'light'], // 0.78 of free flow
    [70, 6, 40, 113, 'moderate'], // 0.62
    [50, 6, 40, 113, 'severe'], // 0.44
    [105, 18, 40, 113, 'light'], // occupancy decides
    [105, 30, 40, 113, 'moderate'],
    [105, 40, 40, 113, 'severe'],
    [null, 3, 0, 113, 'clear'], // a quiet road
    [null, 60, 0, 113, 'severe'], // a stopped queue over the loop
    [null, null, 0, 113, 'clear'],
    [null, null, null, 113, 'unknown'],
  ] as const)('speed %s, occupancy %s, volume %s → %s', (speed_kmh, occupancy_pct, volume, ff, expected) => {
    expect(congestionOf({ speed_kmh, occupancy_pct, volume }, ff)).toBe(expected);
  });
});

describe('levelOfService', () => {
  const freeway = { kind: 'freeway' as const, lanes: 3, free_flow_kmh: 113 };
  const approach = { kind: 'intersection' as const, lanes: 2, free_flow_kmh: 64 };

  it.each([
    // 5-min volume on 3 lanes, space-mean km/h, grade   (density in pc/mi/ln worked by hand)
    [150, 110, 'A'], //  600 veh/h/ln / 68.4 mi/h =  8.8
    [250, 105, 'B'], // 1000 / 65.2 = 15.3
    [300, 105, 'C'], // 1200 / 65.2 = 18.4
    [450, 90, 'D'], //  1800 / 55.9 = 32.2
    [500, 80, 'E'], //  2000 / 49.7 = 40.2
    [500, 40, 'F'], //  2000 / 24.9 = 80.5
  ] as const)('freeway: %i vehicles at %i km/h → %s', (volume, speed, grade) => {
    expect(levelOfService({ volume, space_mean_speed_kmh: speed, speed_kmh: speed }, freeway, 300_000)).toBe(grade);
  });

  it('grades a few freeway densities exactly', () => {
    // 8.8 pc/mi/ln → A; 600 veh in 5 min on 3 lanes at 64 km/h (39.8 mph) → 2400/39.8 = 60.4 → F
    expect(levelOfService({ volume: 150, space_mean_speed_kmh: 110, speed_kmh: 110 }, freeway, 300_000)).toBe('A');
    expect(levelOfService({ volume: 600, space_mean_speed_kmh: 64, speed_kmh: 64 }, freeway, 300_000)).toBe('F');
    expect(levelOfService({ volume: 0, space_mean_speed_kmh: null, speed_kmh: null }, freeway, 300_000)).toBe('A');
  });

  it.each([
    [60, 'A'], // 94 % of 64
    [48, 'B'], // 75 %
    [38, 'C'], // 59 %
    [28, 'D'], // 44 %
    [22, 'E'], // 34 %
    [15, 'F'], // 23 %
  ] as const)('intersection approach at %i km/h → %s', (speed_kmh, grade) => {
    expect(levelOfService({ volume: 30, space_mean_speed_kmh: speed_kmh, speed_kmh }, approach, 300_000)).toBe(grade);
  });
});
