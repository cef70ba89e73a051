/**
 * A driver reads its detectors once per call and returns normalised samples; it never loops, retries, sleeps,
 * logs or counts. `RunningInput` does all of that once for every driver.
 */
import type { Sample } from '../../protocol/index.ts';

export interface InputReading {
  samples: Sample[];
  /** Values or records dropped while parsing, by reason (sentinels, out of range). */
  dropped: Record<string, number>;
  /** Detectors the source says exist (from an inventory), reporting or not: each gets a bin every slot. */
  detectors?: { detector_id: string; station_id: string }[];
}

export interface Input {
  readonly name: string;
  readonly driver: string;
  /** The source's collection interval: how many samples a bin should expect. */
  readonly sample_interval_ms: number;
  /** How often the wrapper should call `read`. */
  readonly poll_interval_ms: number;
  read(signal: AbortSignal): Promise<InputReading>;
  /** Releases what the driver holds open between reads (a serial port). */
  close?(): Promise<void>;
}
