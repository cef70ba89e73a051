/** What a fault does to a simulated serial line: silence, line noise, lost bytes, a sensor clock that is wrong. */
import { FaultPlan, SKEW_MS } from '../faults.ts';
import { rng } from '../traffic-model.ts';

export interface LineFaults {
  /** The sensor does not answer (outage). */
  silent(): boolean;
  /** Noise before the bytes, or bytes lost from them. */
  garble(bytes: Buffer): Buffer;
  /** Added to the sensor's timestamps. */
  skew_ms(): number;
}

/** The faults `plan` holds for the line `target`, at the clock's time. Without a plan: a clean line. */
export function lineFaults(plan: FaultPlan = FaultPlan.none(), target = '', now: () => number = () => 0): LineFaults {
  let n = 0;
  return {
    silent: () => plan.has(target, 'outage', now()),
    skew_ms: () => (plan.has(target, 'clock-skew', now()) ? SKEW_MS : 0),
    garble(bytes) {
      const rand = rng(target, now(), n++);
      if (plan.has(target, 'noise', now())) bytes = Buffer.concat([Buffer.from(Array.from({ length: 8 }, () => Math.floor(rand() * 256))), bytes]);
      if (plan.has(target, 'dropped-bytes', now())) bytes = Buffer.from(bytes.filter(() => rand() > 0.05)); // one byte in twenty lost
      return bytes;
    },
  };
}
