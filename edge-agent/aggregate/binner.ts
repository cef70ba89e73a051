/**
 * Samples → epoch-aligned bins per detector, with the protocol's algebra. A bin is sealed once the clock has
 * passed its end plus `close_delay_ms` (samples arrive a poll after they are measured). Every detector seen
 * once gets a bin for every later slot, empty when nothing arrived, so silence shows up as a low observed
 * fraction. A sample for a bin already sealed is not dropped: it leaves in a supplementary bin for the same
 * slot that expects nothing more (the slot's expectation went with the first bin), and central merges the two
 * exactly.
 */
import { alignDown, expectedSamples, expecting, merge, measuresOfSample, type Measures, type Sample } from '../../protocol/index.ts';

export interface BinDraft {
  detector_id: string;
  station_id: string;
  bin_start_ms: number;
  bin_ms: number;
  measures: Measures;
}

interface DetectorState {
  station_id: string;
  sample_interval_ms: number;
  /** Start of the first slot not yet sealed. */
  next_slot_ms: number;
  open: Map<number, Measures>;
  late: Map<number, Measures>;
}

export class Binner {
  readonly bin_ms: number;
  readonly close_delay_ms: number;
  private readonly detectors = new Map<string, DetectorState>();

  constructor(bin_ms: number, close_delay_ms: number) {
    this.bin_ms = bin_ms;
    this.close_delay_ms = close_delay_ms;
  }

  add(samples: Iterable<Sample>, sample_interval_ms: number): void {
    for (const s of samples) {
      const slot = alignDown(s.start_ms, this.bin_ms);
      let d = this.detectors.get(s.detector_id);
      if (!d) {
        d = { station_id: s.station_id, sample_interval_ms, next_slot_ms: slot, open: new Map(), late: new Map() };
        this.detectors.set(s.detector_id, d);
      }
      const target = slot < d.next_slot_ms ? d.late : d.open;
      const start = target === d.late ? { ...expecting(0) } : expecting(expectedSamples(this.bin_ms, d.sample_interval_ms));
      target.set(slot, merge(target.get(slot) ?? start, measuresOfSample(s)));
    }
  }

  /**
   * Detectors known to exist (from an inventory): from the current slot on, each gets a bin every slot, empty if
   * it never reports, so a dead detector shows as no data instead of not at all.
   */
  register(detectors: Iterable<{ detector_id: string; station_id: string }>, sample_interval_ms: number, now_ms: number): void {
    for (const d of detectors) {
      if (this.detectors.has(d.detector_id)) continue;
      this.detectors.set(d.detector_id, { station_id: d.station_id, sample_interval_ms, next_slot_ms: alignDown(now_ms, this.bin_ms), open: new Map(), late: new Map() });
    }
  }

  /** Bins whose slot ended at least `close_delay_ms` before `now_ms`, oldest first, plus any late supplements. */
  seal(now_ms: number): BinDraft[] {
    const out: BinDraft[] = [];
    for (const [detector_id, d] of this.detectors) {
      for (const [slot, measures] of d.late) out.push({ detector_id, station_id: d.station_id, bin_start_ms: slot, bin_ms: this.bin_ms, measures });
      d.late.clear();
      while (d.next_slot_ms + this.bin_ms + this.close_delay_ms <= now_ms) {
        const slot = d.next_slot_ms;
        const measures = d.open.get(slot) ?? expecting(expectedSamples(this.bin_ms, d.sample_interval_ms));
        d.open.delete(slot);
        out.push({ detector_id, station_id: d.station_id, bin_start_ms: slot, bin_ms: this.bin_ms, measures });
        d.next_slot_ms += this.bin_ms;
      }
    }
    return out.sort((a, b) => a.bin_start_ms - b.bin_start_ms || (a.detector_id < b.detector_id ? -1 : a.detector_id > b.detector_id ? 1 : 0));
  }

  detectorCount(): number {
    return this.detectors.size;
  }
}
