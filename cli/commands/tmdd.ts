/** `wacoflow tmdd parse|inventory FILE...`: what the agent would make of a feed document, without running it. */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parseInventory } from '../../edge-agent/inputs/tmdd-http/inventory.ts';
import { sampleLine } from '../../edge-agent/inputs/tmdd-http/jsonl.ts';
import { parseDetectorData } from '../../edge-agent/inputs/tmdd-http/parse.ts';
import { isTimeZone } from '../../platform/time-zones.ts';

/** Runs `each` on every file's text, reporting unreadable or unparseable files on stderr; exits 1 if any failed. */
function eachFile(files: string[], each: (file: string, text: string) => void): never {
  let failed = false;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      failed = true;
      process.stderr.write(`wacoflow: ${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
      continue;
    }
    try {
      each(file, text);
    } catch (err) {
      failed = true;
      process.stderr.write(`wacoflow: ${file}: ${(err as Error).message}\n`);
    }
  }
  process.exit(failed ? 1 : 0);
}

export function tmddCommand(): Command {
  const tmdd = new Command('tmdd').summary('parse TMDD and agency detector documents the way the agent does');

  tmdd
    .command('parse')
    .summary('print the normalised samples in detector data documents, one JSON object per line')
    .description(
      'Reads TMDD detectorDataMsg (3.0, 3.03, 3.1), Iowa SIMS trafficDetectorData and NDOT DetectorData documents and ' +
        'prints one sample per line: detector_id, station_id, start_ms, end_ms (UTC epoch ms), volume (vehicles), ' +
        'occupancy_pct, speed_kmh, status; null where the source has no value. A summary of each file, with the values ' +
        'dropped as sentinels, goes to stderr. Exits 1 if any file could not be read or parsed.',
    )
    .argument('<file...>', 'XML documents')
    .option('--tz <zone>', 'IANA time zone for timestamps without an offset', 'America/Chicago')
    .addOption(new Option('--speed-unit <unit>', 'unit of the speeds in the documents').choices(['kmh', 'mph']).default('kmh'))
    .option('--interval-ms <ms>', 'collection interval for records that carry only a detection time', '20000')
    .addOption(new Option('--missing-count <meaning>', 'what an absent count means').choices(['no_data', 'zero']).default('no_data'))
    .action((files: string[], o: { tz: string; speedUnit: 'kmh' | 'mph'; intervalMs: string; missingCount: 'no_data' | 'zero' }) => {
      if (!isTimeZone(o.tz)) {
        process.stderr.write(`wacoflow: configuration error: --tz: "${o.tz}" is not an IANA time zone (for example America/Chicago)\n`);
        process.exit(2);
      }
      const interval = Number(o.intervalMs);
      if (!Number.isInteger(interval) || interval < 1_000) {
        process.stderr.write(`wacoflow: configuration error: --interval-ms: must be a whole number of milliseconds ≥ 1000 (got "${o.intervalMs}")\n`);
        process.exit(2);
      }
      eachFile(files, (file, xml) => {
        const r = parseDetectorData(xml, { time_zone: o.tz, speed_unit: o.speedUnit, sample_interval_ms: interval, missing_count: o.missingCount });
        for (const s of r.samples) process.stdout.write(`${sampleLine(s)}\n`);
        const dropped = Object.entries(r.dropped).map(([k, n]) => `${k} ${n}`).join(', ');
        process.stderr.write(`${file}: ${r.samples.length} samples${dropped ? `; dropped: ${dropped}` : ''}\n`);
      });
    });

  tmdd
    .command('inventory')
    .summary('print the stations and lane detectors in inventory documents, one JSON object per line')
    .argument('<file...>', 'detectorInventoryMsg or OpenRoads stationList documents')
    .action((files: string[]) => {
      eachFile(files, (file, xml) => {
        const stations = parseInventory(xml);
        for (const s of stations) process.stdout.write(`${JSON.stringify(s)}\n`);
        process.stderr.write(`${file}: ${stations.length} stations, ${stations.reduce((n, s) => n + s.detectors.length, 0)} detectors\n`);
      });
    });
  return tmdd;
}
