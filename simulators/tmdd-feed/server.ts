/**
 * A TMDD detector feed over HTTP, as a traffic management centre would publish it:
 *   GET /tmdd/<feed>/detectorDataMsg       the last `history_intervals` complete intervals of every lane
 *   GET /tmdd/<feed>/detectorInventoryMsg  stations and lane detectors with micro-degree positions
 * A feed with `dialect: iowa-sims` serves Iowa DOT SIMS `trafficDetectorData` instead of TMDD 3.03.
 * Faults (simulators/faults.ts) make a feed drop connections, answer late or never, or serve broken, hostile
 * or skewed documents.
 * Data responses carry an ETag (the newest interval) and answer If-None-Match with 304, so pollers only
 * download new intervals.
 */
import { createServer, type Server } from 'node:http';
import { alignDown, type Station } from '../../protocol/index.ts';
import type { Clock } from '../../platform/clock.ts';
import { listen } from '../../platform/net.ts';
import { FaultPlan, SKEW_MS, SLOW_MS, skewed, type LaneSource } from '../faults.ts';
import type { Feed } from '../waco/core.ts';
import { detectorDataMsg, detectorInventoryMsg, iowaTrafficDetectorData } from './xml.ts';

/** The 'billion laughs' prologue a hostile feed puts before its document. */
const ENTITY_BOMB = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>';

export interface FeedServerOptions {
  feeds: Feed[];
  stations: Station[];
  model: LaneSource;
  /** Faults injected per feed (by feed id) and per station. */
  faults?: FaultPlan;
  clock: Clock;
  /** The detectors' collection interval (the feed's cadence). */
  interval_ms: number;
  history_intervals: number;
  time_zone: string;
  host: string;
  port: number;
}

export interface FeedServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Base URL of a feed, e.g. http://127.0.0.1:40123/tmdd/txdot-i35 */
  feedUrl(feed_id: string): string;
  requests(): number;
}

export function buildFeedServer(o: FeedServerOptions): FeedServer {
  const stations = new Map(o.stations.map((s) => [s.station_id, s]));
  const faults = o.faults ?? FaultPlan.none();
  let server: Server | null = null;
  let base = '';
  let served = 0;

  const handler: Parameters<typeof createServer>[1] = (req, res) => {
    served++;
    const m = /^\/tmdd\/([^/]+)\/(detectorDataMsg|detectorInventoryMsg)$/.exec((req.url ?? '').split('?')[0]!);
    const feed = m ? o.feeds.find((f) => f.feed_id === m[1]) : undefined;
    if (!m || !feed || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /tmdd/<feed>/detectorDataMsg or /detectorInventoryMsg\n');
      return;
    }
    const feedStations = feed.station_ids.map((id) => stations.get(id)!).filter(Boolean);
    const now = o.clock.now();
    const fault = (kind: Parameters<FaultPlan['has']>[1]) => faults.has(feed.feed_id, kind, now);
    if (fault('outage')) return void req.socket.destroy();
    if (fault('hang')) return; // the request is read and never answered
    const send = (status: number, headers: Record<string, string>, body?: string): void => {
      if (fault('slow')) o.clock.after(SLOW_MS, () => void res.writeHead(status, headers).end(body));
      else res.writeHead(status, headers).end(body);
    };
    if (m[2] === 'detectorInventoryMsg') {
      send(200, { 'content-type': 'application/xml' }, detectorInventoryMsg(feed.organization_id, feedStations, o.time_zone, now));
      return;
    }
    const newest = alignDown(now, o.interval_ms) - o.interval_ms; // the last complete interval
    if (!o.model.covers(newest + o.interval_ms, 'lanes')) {
      send(503, { 'content-type': 'text/plain', 'retry-after': '5' }, 'the traffic simulation has not reached this interval yet\n');
      return;
    }
    const etag = `"${feed.feed_id}-${newest}"`;
    if (req.headers['if-none-match'] === etag) {
      send(304, { etag });
      return;
    }
    const skew = fault('clock-skew') ? SKEW_MS : 0;
    const lanes = [];
    for (let i = o.history_intervals - 1; i >= 0; i--) {
      const start = newest - i * o.interval_ms;
      for (const s of feedStations) for (let lane = 1; lane <= s.lanes; lane++) lanes.push(skewed(o.model.laneInterval(s, lane, start, o.interval_ms), skew));
    }
    let body = feed.dialect === 'iowa-sims' ? iowaTrafficDetectorData(feed.organization_id, lanes, o.time_zone) : detectorDataMsg(feed.organization_id, lanes, o.time_zone);
    if (fault('malformed')) body = body.slice(0, Math.floor(body.length / 2));
    if (fault('hostile')) body = body.replace('?>', `?>\n${ENTITY_BOMB}`);
    // A broken document carries no ETag, so the feed's next good answer is not taken for it.
    send(200, skew || fault('malformed') || fault('hostile') ? { 'content-type': 'application/xml' } : { 'content-type': 'application/xml', etag }, body);
  };

  return {
    feedUrl: (feed_id) => `${base}/tmdd/${feed_id}`,
    requests: () => served,
    async start() {
      server = createServer(handler);
      const a = await listen(server, o.host, o.port, 'feed_port');
      base = `http://${a.host}:${a.port}`;
    },
    async stop() {
      server?.closeAllConnections();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}
