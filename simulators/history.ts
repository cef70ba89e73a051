/**
 * The simulated city's past: final station windows for the days before the simulation starts, straight from
 * the traffic model, so central's analytics start with a profile of every road station (a baseline to judge
 * anomalies by, forecasts with intervals, onset warnings) instead of learning from nothing for a week.
 *
 * Each window is what the station's lanes would have reported over those five minutes: one call of the
 * model per lane and window (`TrafficModel.laneInterval` with a five-minute duration: Poisson counts, speeds
 * and occupancy on the same fundamental diagram the live feeds use), folded into the protocol's exact sums
 * with `measuresOfSample`. Normal days only: the scheduled incidents, weather and games lie ahead of the
 * start. Intersection approaches have no past here (their counts come from cameras' movement records).
 */
import { mergeAll, measuresOfSample, WINDOW_MS, type Measures, type Station } from '../protocol/index.ts';
import type { TrafficModel } from './traffic-model.ts';

export interface HistoryWindow {
  key: string;
  window_start_ms: number;
  measures: Measures;
}

/** Station windows from `from_ms` (aligned down) up to, not including, the window holding `until_ms`. */
export function* modelHistory(model: TrafficModel, stations: readonly Station[], from_ms: number, until_ms: number): Generator<HistoryWindow[]> {
  const first = from_ms - (from_ms % WINDOW_MS);
  const last = until_ms - (until_ms % WINDOW_MS);
  // A day of windows at a time, all stations: the caller stores each day as it comes.
  for (let day = first; day < last; day += 288 * WINDOW_MS) {
    const out: HistoryWindow[] = [];
    for (const station of stations) {
      for (let t = day; t < Math.min(day + 288 * WINDOW_MS, last); t += WINDOW_MS) {
        const lanes = Array.from({ length: station.lanes }, (_, i) => {
          const li = model.laneInterval(station, i + 1, t, WINDOW_MS);
          return measuresOfSample({
            detector_id: li.detector_id, station_id: station.station_id, start_ms: t, duration_ms: WINDOW_MS, status: 'ok',
            volume: li.volume, occupancy_pct: li.occupancy_pct, speed_kmh: li.speed_sentinel ? null : li.speed_kmh,
          });
        });
        out.push({ key: station.station_id, window_start_ms: t, measures: { ...mergeAll(lanes), samples_expected: station.lanes } });
      }
    }
    yield out;
  }
}
