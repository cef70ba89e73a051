/**
 * ss105-serial: polls each Wavetronix SmartSensor 105 on a serial line for its latest binned interval ("XD"),
 * verifies the checksum, and converts: speed mph → km/h, occupancy scans of 1024 → percent.
 */
import type { Sample } from '../../../protocol/index.ts';
import { ERR, WacoflowError } from '../../../platform/errors.ts';
import type { Input, InputReading } from '../input.ts';
import { openSerial, type SerialLink } from '../serial/link.ts';
import { Exchange } from '../serial/request-reply.ts';
import type { Ss105Config } from './config.ts';
import { decodeBinned, Framer, parseFrame, request, type BinnedData, type Frame } from './protocol.ts';

const KMH_PER_MPH = 1.609344;

/** One XD answer → one sample per lane: mph → km/h, scans of 1024 → percent. Pure. */
export function binnedSamples(data: BinnedData, station_id: string, interval_ms: number): Sample[] {
  return data.lanes.map((lane) => ({
    detector_id: `${station_id}-l${lane.lane}`,
    station_id,
    start_ms: data.end_ms - interval_ms,
    duration_ms: interval_ms,
    volume: lane.count,
    occupancy_pct: Math.min(100, lane.occupancy_scans / 10.24),
    speed_kmh: lane.count > 0 ? lane.speed_mph * KMH_PER_MPH : null,
    status: 'ok' as const,
  }));
}

export function ss105Input(config: Ss105Config, open: typeof openSerial = openSerial): Input & { close(): Promise<void> } {
  let link: SerialLink | null = null;
  const exchange = new Exchange<Frame>();
  const framer = new Framer(config.max_buffer_bytes);
  let pending: Record<string, number> = {};
  const drop = (reason: string, n = 1): void => {
    pending[reason] = (pending[reason] ?? 0) + n;
  };

  const connect = async (): Promise<SerialLink> => {
    if (link?.isOpen()) return link;
    link = await open(config.line);
    link.onData((bytes) => {
      const before = framer.discarded;
      for (const line of framer.push(bytes)) {
        const r = parseFrame(line);
        if (r.ok) exchange.offer(r.frame);
        else drop(r.reason);
      }
      if (framer.discarded > before) drop('noise_bytes', framer.discarded - before);
    });
    return link;
  };

  return {
    name: config.name,
    driver: 'ss105-serial',
    sample_interval_ms: config.interval_ms,
    poll_interval_ms: config.poll_interval_ms,
    async read(signal): Promise<InputReading> {
      const l = await connect();
      const samples: Sample[] = [];
      let answered = 0;
      for (const d of config.drops) {
        if (signal.aborted) break;
        const frame = await exchange.ask(l, request(d.drop, 'XD'), (f) => f.drop === d.drop && f.command === 'XD', config.response_timeout_ms, signal);
        if (!frame) {
          drop('no_response');
          continue;
        }
        answered++;
        const data = decodeBinned(frame.payload);
        if (typeof data === 'string') {
          drop('bad_payload');
          continue;
        }
        samples.push(...binnedSamples(data, d.station_id, config.interval_ms));
      }
      const dropped = pending;
      pending = {};
      if (answered === 0) {
        throw new WacoflowError(ERR.FEED_HTTP, `serial ${config.line.path}: no sensor answered (drops ${config.drops.map((d) => d.drop).join(', ')})`, { retriable: true });
      }
      return { samples, dropped };
    },
    async close() {
      await link?.close();
      link = null;
    },
  };
}
