/**
 * Window assignment and binning: which epoch-aligned bin or window a sample or bin belongs to, and the
 * aggregation of samples into bins. Shared by the edge agent (samples → bins) and central (bins → windows).
 */
import { BinAlgebraError } from './errors.ts';
import { expecting, merge, measuresOfSample, type Measures } from './measures.ts';
import { alignDown, nests, WINDOW_MS } from './time.ts';
import type { Sample } from './v1/sample.ts';

/** A sample belongs to the bin that contains its start. */
export function binStartOf(sample: Pick<Sample, 'start_ms'>, bin_ms: number): number {
  return alignDown(sample.start_ms, bin_ms);
}

/** The start of the window a bin falls in. The bin width must nest in the window width. */
export function windowStartOfBin(bin_start_ms: number, bin_ms: number, window_ms: number = WINDOW_MS): number {
  if (!nests(bin_ms, window_ms)) {
    throw new BinAlgebraError(`a ${bin_ms} ms bin does not nest in a ${window_ms} ms window (the bin width must divide it)`);
  }
  return alignDown(bin_start_ms, window_ms);
}

/** How many samples a source with this cadence produces in a slot. */
export function expectedSamples(slot_ms: number, sample_interval_ms: number): number {
  return Math.max(1, Math.round(slot_ms / sample_interval_ms));
}

export interface SlotAggregate {
  detector_id: string;
  station_id: string;
  slot_start_ms: number;
  measures: Measures;
}

/**
 * Aggregates samples into `slot_ms` slots per detector, with each slot expecting `slot_ms / sample_interval_ms`
 * samples. Slots listed in `include` (detector → station, over `[from_ms, to_ms)`) appear even when empty,
 * so silence is visible as a low observed fraction rather than a missing row.
 */
export function aggregateSamples(
  samples: Iterable<Sample>,
  slot_ms: number,
  sample_interval_ms: number,
  include?: { detectors: ReadonlyMap<string, string>; from_ms: number; to_ms: number },
): SlotAggregate[] {
  const expected = expectedSamples(slot_ms, sample_interval_ms);
  const slots = new Map<string, SlotAggregate>();
  const slotFor = (detector_id: string, station_id: string, slot_start_ms: number): SlotAggregate => {
    const k = `${detector_id}\u0000${slot_start_ms}`;
    let s = slots.get(k);
    if (!s) {
      s = { detector_id, station_id, slot_start_ms, measures: expecting(expected) };
      slots.set(k, s);
    }
    return s;
  };
  if (include) {
    for (const [detector_id, station_id] of include.detectors) {
      for (let t = alignDown(include.from_ms, slot_ms); t < include.to_ms; t += slot_ms) slotFor(detector_id, station_id, t);
    }
  }
  for (const sample of samples) {
    const slot = slotFor(sample.detector_id, sample.station_id, alignDown(sample.start_ms, slot_ms));
    slot.measures = merge(slot.measures, measuresOfSample(sample));
  }
  return [...slots.values()].sort(
    (a, b) => a.slot_start_ms - b.slot_start_ms || (a.detector_id < b.detector_id ? -1 : a.detector_id > b.detector_id ? 1 : 0),
  );
}
