/**
 * ss125-serial: Wavetronix SmartSensor HD interval data over a serial line, pushed by the sensors or polled.
 * Only lane packets are kept (the approach packets that follow are sums of lanes and would count twice).
 */
import type { Sample } from '../../../protocol/index.ts';
import { ERR, WacoflowError } from '../../../platform/errors.ts';
import type { Input, InputReading } from '../input.ts';
import { openSerial, type SerialLink } from '../serial/link.ts';
import type { Ss125Config } from './config.ts';
import { decodeInterval, Framer, intervalRequest, MSG_INTERVAL, type Frame, type IntervalRecord } from './protocol.ts';

const KMH_PER_MPH = 1.609344;
/** Decoded samples waiting for the next read in push mode: an hour of 64 lanes at 20 s. */
const MAX_QUEUED = 11_520;

/** One decoded lane packet → a sample (null for approach packets, which sum the lanes). Pure. */
export function intervalSample(r: IntervalRecord, station_id: string, o: Pick<Ss125Config, 'interval_ms' | 'speed_unit' | 'timestamp_marks'>): Sample | null {
  if (r.packet >= r.lanes) return null;
  const start = o.timestamp_marks === 'end' ? r.timestamp_ms - o.interval_ms : r.timestamp_ms;
  const speed = r.speed === null || r.volume === 0 ? null : o.speed_unit === 'mph' ? r.speed * KMH_PER_MPH : r.speed;
  return {
    detector_id: `${station_id}-l${r.packet + 1}`,
    station_id,
    start_ms: start,
    duration_ms: o.interval_ms,
    volume: r.volume,
    occupancy_pct: r.occupancy_pct === null ? null : Math.min(100, r.occupancy_pct),
    speed_kmh: speed !== null && speed >= 0 && speed <= 250 ? speed : null,
    status: 'ok',
  };
}

export function ss125Input(config: Ss125Config, open: typeof openSerial = openSerial): Input & { close(): Promise<void> } {
  const stations = new Map(config.drops.map((d) => [d.drop, d.station_id]));
  const framer = new Framer(config.max_buffer_bytes);
  let link: SerialLink | null = null;
  let queue: Sample[] = [];
  let pending: Record<string, number> = {};
  let seq = 0;
  let onFrame: ((f: Frame) => void) | null = null;
  const drop = (reason: string, n = 1): void => {
    pending[reason] = (pending[reason] ?? 0) + n;
  };

  const toSample = (f: Frame): Sample | null => {
    const station_id = stations.get(f.src_id);
    if (!station_id) {
      drop('unknown_drop');
      return null;
    }
    const r = decodeInterval(f.body);
    if (typeof r === 'string') {
      drop('bad_interval');
      return null;
    }
    if (r.occupancy_pct === null && r.packet < r.lanes) drop('occupancy_error_code');
    return intervalSample(r, station_id, config);
  };

  const connect = async (): Promise<SerialLink> => {
    if (link?.isOpen()) return link;
    link = await open(config.line);
    link.onData((bytes) => {
      const [discarded, bad] = [framer.discarded, framer.bad_crc];
      for (const f of framer.push(bytes)) {
        if (f.body[0] !== MSG_INTERVAL) continue;
        if (onFrame) onFrame(f);
        else if (config.mode === 'push') {
          const s = toSample(f);
          if (s) queue.push(s);
        } else drop('unasked_frame'); // poll mode: an answer nobody is waiting for (late, or another host's)
      }
      if (framer.discarded > discarded) drop('noise_bytes', framer.discarded - discarded);
      if (framer.bad_crc > bad) drop('bad_crc', framer.bad_crc - bad);
      if (queue.length > MAX_QUEUED) {
        drop('queue_full', queue.length - MAX_QUEUED);
        queue = queue.slice(-MAX_QUEUED);
      }
    });
    return link;
  };

  /** Asks one sensor for its latest interval and collects its lane packets until all arrived or time runs out. */
  const poll = async (l: SerialLink, d: number, signal: AbortSignal): Promise<Sample[] | null> => {
    const got: Sample[] = [];
    let expected = Infinity;
    let seen = 0;
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        onFrame = null;
        resolve();
      };
      const timer = setTimeout(finish, config.response_timeout_ms);
      signal.addEventListener('abort', finish, { once: true });
      const asked = seq & 0xff;
      onFrame = (f) => {
        // The sensor answers with the poll's sequence number incremented (reference: serial-detectors.md); a late
        // answer to an earlier poll carries another number and is not this one's.
        if (f.src_id !== d || f.seq !== ((asked + 1) & 0xff)) return;
        const r = decodeInterval(f.body);
        if (typeof r !== 'string') expected = r.lanes + r.approaches;
        seen++;
        const s = toSample(f);
        if (s) got.push(s);
        if (seen >= expected) finish();
      };
      seq++;
      void l.write(intervalRequest(d, asked)).catch(finish);
    });
    return seen > 0 ? got : null;
  };

  return {
    name: config.name,
    driver: 'ss125-serial',
    sample_interval_ms: config.interval_ms,
    poll_interval_ms: config.poll_interval_ms,
    async read(signal): Promise<InputReading> {
      const l = await connect();
      let samples: Sample[];
      if (config.mode === 'push') {
        samples = queue;
        queue = [];
      } else {
        samples = [];
        let answered = 0;
        for (const d of config.drops) {
          const got = await poll(l, d.drop, signal);
          if (got === null) drop('no_response');
          else {
            answered++;
            samples.push(...got);
          }
        }
        if (answered === 0) {
          pending = {};
          throw new WacoflowError(ERR.FEED_HTTP, `serial ${config.line.path}: no sensor answered (drops ${config.drops.map((d) => d.drop).join(', ')})`, { retriable: true });
        }
      }
      const dropped = pending;
      pending = {};
      return { samples, dropped };
    },
    async close() {
      await link?.close();
      link = null;
    },
  };
}
