/**
 * Free-flow speed learned per station from its own windows: the 85th percentile of window speeds while the road
 * is uncongested (occupancy below 8 %), over the last week of such windows. Until enough of them have been seen
 * the configured speed (the posted limit) stands. Pure and bounded.
 *
 * The 85th-percentile speed under free-flowing conditions is the traffic-engineering convention for operating
 * speed (FHWA, Speed Concepts: Informational Guide, 2009); 8 % occupancy is well below the 15 % at which the
 * congestion levels start (docs/traffic-model.md), so queues do not pull the estimate down.
 */
import type { Summary } from '../../protocol/index.ts';
import { RollingSample } from '../../platform/rolling-sample.ts';

export const FREE_FLOW = {
  max_occupancy_pct: 8,
  min_observed_fraction: 0.5,
  /** Windows needed before the estimate replaces the configured speed: three hours of free flow. */
  min_windows: 36,
  /** A week of 5-minute windows. */
  max_windows: 2_016,
  percentile: 0.85,
} as const;

export class FreeFlowLearner {
  /** Per key: the last week of qualifying speeds, kept sorted, so an estimate is a lookup. */
  private readonly speeds = new Map<string, RollingSample>();
  private readonly newest = new Map<string, number>();

  /**
   * Takes a final window's summary; only free-flowing, well-observed windows with a speed count. With
   * `window_start_ms`, a window not newer than the last one taken for the key (a revision) is left out, so it
   * does not count twice.
   */
  push(key: string, s: Pick<Summary, 'speed_kmh' | 'occupancy_pct' | 'observed_fraction'>, window_start_ms?: number): void {
    if (window_start_ms !== undefined) {
      if (window_start_ms <= (this.newest.get(key) ?? -Infinity)) return;
      this.newest.set(key, window_start_ms);
    }
    if (s.speed_kmh === null || s.occupancy_pct === null) return;
    if (s.occupancy_pct >= FREE_FLOW.max_occupancy_pct || s.observed_fraction < FREE_FLOW.min_observed_fraction) return;
    let list = this.speeds.get(key);
    if (!list) this.speeds.set(key, (list = new RollingSample(FREE_FLOW.max_windows)));
    list.push(s.speed_kmh);
  }

  /** The learned free-flow speed, or null while fewer than min_windows qualify. */
  estimate(key: string): number | null {
    const list = this.speeds.get(key);
    if (!list || list.size < FREE_FLOW.min_windows) return null;
    return list.nth(Math.min(list.size - 1, Math.floor(FREE_FLOW.percentile * list.size)));
  }

  keys(): string[] {
    return [...this.speeds.keys()];
  }
}

