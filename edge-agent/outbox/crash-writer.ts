/**
 * A child process for the crash-safety test: appends and acknowledges bins as fast as it can and reports, on
 * stdout, each step only after it completed: `D <seq>:<volume>,… <segment> <bytes>` once bins are durable,
 * `T <seq>,…` just before acknowledging, `A <seq>,…` once the acknowledgement is written. The test kills it with SIGKILL at random moments.
 */
import { expecting } from '../../protocol/index.ts';
import { DEFAULT_OUTBOX, FileOutbox } from './file-outbox.ts';

const dir = process.argv[2]!;
const T0 = 1_764_230_400_000;
const box = await FileOutbox.open({ ...DEFAULT_OUTBOX, dir, segment_bytes: 8_192 }, () => T0);
process.stdout.write('READY\n');
let n = Math.floor(Math.random() * 1e6);
for (;;) {
  const drafts = Array.from({ length: 1 + (n % 7) }, () => {
    n++;
    return { detector_id: `d${n % 5}`, station_id: 'st', bin_start_ms: T0 + (n % 100) * 60_000, bin_ms: 60_000, measures: { ...expecting(3), volume: n % 10_000, samples_seen: 3 } };
  });
  const bins = await box.append(drafts, { device_id: 'agent-crash', clock: { synced: true, offset_ms: 0 } });
  const mark = box.durableMark()!;
  process.stdout.write(`D ${bins.map((b) => `${b.seq}:${b.measures.volume}`).join(',')} ${mark.segment} ${mark.bytes}\n`);
  if (n % 3 === 0) {
    const batch = box.take(1 + (n % 9));
    process.stdout.write(`T ${batch.map((b) => b.seq).join(',')}\n`); // about to acknowledge: may or may not land
    await box.accept(batch);
    process.stdout.write(`A ${batch.map((b) => b.seq).join(',')}\n`);
  }
}
