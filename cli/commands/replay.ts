/**
 * `wacoflow replay`: recorded samples (the lines `wacoflow tmdd parse` prints, or TMDD documents) through the
 * agent's binning and central's window code, to final windows, one JSON object per line.
 */
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { loadInventory } from '../../central/inventory.ts';
import { replayWindows } from '../../central/replay.ts';
import { parseDetectorData } from '../../edge-agent/inputs/tmdd-http/parse.ts';
import { isTimeZone } from '../../platform/time-zones.ts';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { SampleSchema, type Sample } from '../../protocol/index.ts';
import { fail } from '../run.ts';

/** A line as `wacoflow tmdd parse` prints it: the sample with end_ms in place of duration_ms. */
const SampleLine = SampleSchema.omit({ duration_ms: true })
  .extend({ end_ms: z.number().int() })
  .refine((l) => l.end_ms > l.start_ms, { message: 'must be after start_ms', path: ['end_ms'] });

async function readSamples(file: string, into: Sample[]): Promise<void> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  const problems: string[] = [];
  try {
    for await (const text of lines) {
      n++;
      if (text.trim() === '') continue;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        problems.push(`${file}:${n}: not a JSON object`);
        continue;
      }
      const r = SampleLine.safeParse(json);
      if (!r.success) {
        problems.push(...r.error.issues.map((i) => `${file}:${n}: ${i.path.join('.') || '(line)'}: ${i.message}`));
        continue;
      }
      const { end_ms, ...rest } = r.data;
      into.push({ ...rest, duration_ms: end_ms - rest.start_ms });
    }
  } catch (err) {
    throw new WacoflowError(ERR.CONFIG, `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).join('\n');
    throw new WacoflowError(ERR.CONFIG, `${shown}${problems.length > 20 ? `\n… and ${problems.length - 20} more` : ''}\nfix these lines (the format is what 'wacoflow tmdd parse' prints) and run again`);
  }
  process.stderr.write(`${file}: ${n} lines\n`);
}

interface ReplayCliOptions {
  samples: string[];
  tmdd: string[];
  binSecs: string;
  inventory?: string;
  out?: string;
  tz: string;
  speedUnit: 'kmh' | 'mph';
  intervalMs: string;
}

export function replayCommand(): Command {
  return new Command('replay')
    .summary('run recorded samples through edge binning and central windows, offline, to final windows')
    .description(
      'Reads samples (JSON lines as printed by `wacoflow tmdd parse`) and/or TMDD detector data documents, bins them ' +
        'as the agent does and builds the 5-minute detector, station and (with --inventory) corridor windows as ' +
        'central does. Writes one JSON object per final window: level, key, window_start_ms, window_end_ms, volume, ' +
        'occupancy_pct, speed_kmh, speed_min_kmh, speed_max_kmh, observed_fraction, congestion, los, revision, final.',
    )
    .option('--samples <file...>', 'sample lines (JSONL)', [])
    .option('--tmdd <file...>', 'TMDD / agency detector data documents', [])
    .option('--bin-secs <s>', 'edge bin width in seconds; must divide 300', '60')
    .option('--inventory <file>', "stations and detectors (central's inventory YAML): corridors, free-flow speeds, LOS")
    .option('--out <file>', 'where to write the windows (default: standard output)')
    .option('--tz <zone>', 'TMDD: IANA time zone for timestamps without an offset', 'America/Chicago')
    .addOption(new Option('--speed-unit <unit>', 'TMDD: unit of the speeds in the documents').choices(['kmh', 'mph']).default('kmh'))
    .option('--interval-ms <ms>', 'TMDD: collection interval for records that carry only a detection time', '20000')
    .action(async (o: ReplayCliOptions) => {
      try {
        const bin_secs = Number(o.binSecs);
        if (!Number.isInteger(bin_secs) || bin_secs < 1 || 300 % bin_secs !== 0) {
          throw new WacoflowError(ERR.CONFIG, `--bin-secs: must be a whole number of seconds that divides 300 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 300…); got "${o.binSecs}"`);
        }
        if (o.samples.length === 0 && o.tmdd.length === 0) throw new WacoflowError(ERR.CONFIG, 'give --samples FILE.jsonl and/or --tmdd FILE…');
        if (!isTimeZone(o.tz)) throw new WacoflowError(ERR.CONFIG, `--tz: "${o.tz}" is not an IANA time zone (for example America/Chicago)`);
        const samples: Sample[] = [];
        for (const file of o.samples) await readSamples(file, samples);
        for (const file of o.tmdd) {
          let xml: string;
          try {
            xml = readFileSync(file, 'utf8');
          } catch (err) {
            throw new WacoflowError(ERR.CONFIG, `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
          }
          const r = parseDetectorData(xml, { time_zone: o.tz, speed_unit: o.speedUnit, sample_interval_ms: Number(o.intervalMs), missing_count: 'no_data' });
          samples.push(...r.samples);
          process.stderr.write(`${file}: ${r.samples.length} samples\n`);
        }
        const stations = o.inventory ? loadInventory(o.inventory).stations : undefined;
        const windows = replayWindows(samples, { bin_ms: bin_secs * 1000, ...(stations ? { stations } : {}) });
        const text = windows.map((w) => JSON.stringify(w)).join('\n') + (windows.length ? '\n' : '');
        if (o.out) writeFileSync(o.out, text);
        else process.stdout.write(text);
        process.stderr.write(`${samples.length} samples → ${windows.length} final windows${o.out ? ` in ${o.out}` : ''}\n`);
      } catch (err) {
        fail(err);
      }
    });
}
