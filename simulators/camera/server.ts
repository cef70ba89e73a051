/**
 * Intersection cameras serving counts over HTTP in WacoFlow's counts format (edge-agent/inputs/camera-http):
 *   GET /camera/<intersection_id>/counts   the last `history_intervals` complete intervals of every approach,
 *                                          one record per approach and movement
 */
import { createServer, type Server } from 'node:http';
import { alignDown, type Station } from '../../protocol/index.ts';
import type { Clock } from '../../platform/clock.ts';
import { listen } from '../../platform/net.ts';
import { FaultPlan, SKEW_MS, SLOW_MS, type LaneSource } from '../faults.ts';
import type { Intersection } from '../waco/network.ts';

export interface CameraServerOptions {
  intersections: Intersection[];
  /** The approach stations, by id. */
  stations: Map<string, Station>;
  model: LaneSource;
  clock: Clock;
  /** Faults injected per camera (target `camera-<intersection_id>`). */
  faults?: FaultPlan;
  interval_ms: number;
  history_intervals: number;
  host: string;
  port: number;
}

export interface CameraServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** e.g. http://127.0.0.1:40123/camera/vm-franklin/counts */
  countsUrl(intersection_id: string): string;
}

/** The counts document a camera serves for the intervals ending at or before `now_ms`. */
export function countsDocument(
  o: Pick<CameraServerOptions, 'stations' | 'model' | 'interval_ms' | 'history_intervals'>,
  x: Intersection,
  now_ms: number,
  fault: { skew_ms: number; nonsense: boolean } = { skew_ms: 0, nonsense: false },
): string {
  const newest = alignDown(now_ms, o.interval_ms) - o.interval_ms;
  const bins = [];
  for (let i = o.history_intervals - 1; i >= 0; i--) {
    const start = newest - i * o.interval_ms;
    for (const a of x.approaches) {
      const r = o.model.approachInterval(a, o.stations.get(a.station_id)!, start, o.interval_ms);
      for (const m of r.movements) {
        bins.push({
          start: new Date(start + fault.skew_ms).toISOString(),
          end: new Date(start + fault.skew_ms + o.interval_ms).toISOString(),
          approach: a.approach,
          movement: m.movement,
          volume: fault.nonsense ? -1 - m.volume : m.volume,
          ...(fault.nonsense ? { speed_kmh: 900 } : r.speed_kmh === null ? {} : { speed_kmh: r.speed_kmh }),
          occupancy_pct: r.occupancy_pct,
          ...(m.movement === 'T' ? { queue_veh: r.queue_veh } : {}),
        });
      }
    }
  }
  return `${JSON.stringify({ intersection_id: x.intersection_id, bins })}\n`;
}

export function buildCameraServer(o: CameraServerOptions): CameraServer {
  const byId = new Map(o.intersections.map((x) => [x.intersection_id, x]));
  const faults = o.faults ?? FaultPlan.none();
  let server: Server | null = null;
  let base = '';
  return {
    countsUrl: (id) => `${base}/camera/${id}/counts`,
    async start() {
      server = createServer((req, res) => {
        const m = /^\/camera\/([^/]+)\/counts$/.exec((req.url ?? '').split('?')[0]!);
        const x = m ? byId.get(m[1]!) : undefined;
        if (!x || req.method !== 'GET') {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /camera/<intersection_id>/counts\n');
          return;
        }
        const now = o.clock.now();
        const fault = (kind: Parameters<FaultPlan['has']>[1]) => faults.has(`camera-${x.intersection_id}`, kind, now);
        if (fault('outage')) return void req.socket.destroy();
        if (fault('hang')) return;
        if (!o.model.covers(alignDown(now, o.interval_ms), 'approaches')) {
          res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end('the traffic simulation has not reached this interval yet\n');
          return;
        }
        let body = countsDocument(o, x, now, { skew_ms: fault('clock-skew') ? SKEW_MS : 0, nonsense: fault('nonsense') });
        if (fault('malformed')) body = body.slice(0, Math.floor(body.length / 2));
        const send = () => void res.writeHead(200, { 'content-type': 'application/json' }).end(body);
        if (fault('slow')) o.clock.after(SLOW_MS, send);
        else send();
      });
      const a = await listen(server, o.host, o.port, 'camera_port');
      base = `http://${a.host}:${a.port}`;
    },
    async stop() {
      server?.closeAllConnections();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}
