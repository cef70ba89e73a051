/**
 * Central's HTTP API (Fastify): the only file that imports fastify. Read-only views, bound to localhost unless
 * configured otherwise; no CORS. The contract (parameters, answers, the OpenAPI document) is in api.ts.
 */
import type { EventEmitter } from 'node:events';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { jsonOf, type Alert, type WindowLevel } from '../../protocol/index.ts';
import { probeBody, type Probe } from '../../platform/probe.ts';
import { ProcessingHistory } from './processing.ts';
import {
  AckBody, AlertsQuery, HistoryQuery, IdParams, NoQuery, openApiDocument, StationHistoryQuery,
  type DetectorView, type NetworkView, type FleetDevice, type StationView, type WindowPage,
} from './api.ts';

export type { StationView } from './api.ts';

export interface ApiSource {
  health(): Promise<{ status: 'ok' | 'degraded'; checks: Record<string, string> }>;
  /** Liveness: the consume loop turns (a restart would help when it does not). */
  live(): Promise<Probe>;
  /** Readiness: PostgreSQL answers, the consumer is in its group, the producer is connected. */
  ready(): Promise<Probe>;
  stations(): Promise<StationView[]>;
  /** The road network's geometry for maps, where the inventory has it. */
  network(): NetworkView;
  /** Whether the inventory has this station (cheap: no query). */
  hasStation(station_id: string): boolean;
  /** Windows of one key, oldest first, starting in [from_ms, to_ms), at most `limit`. */
  windows(level: WindowLevel, key: string, from_ms: number, to_ms: number, limit: number): Promise<WindowPage['items']>;
  /** The detectors of a station (for level=detector history). */
  detectors(): Promise<DetectorView[]>;
  alerts(query: AlertsQuery): Promise<Alert[]>;
  /** False when there is no such alert. */
  acknowledgeAlert(alert_id: string, by: string): Promise<boolean>;
  /** Sends an operator's command to every gateway; false when central has never heard of the device. */
  commandDevice(device_id: string, action: 'disable' | 'enable', by: string): Promise<boolean>;
  fleet(): Promise<FleetDevice[]>;
  /** Emits 'window', 'rolling', 'alert', 'forecast' and 'fleet' with a JSON-able payload. */
  events: EventEmitter;
  now(): number;
}

export interface HttpOptions {
  version: string;
  /** Bearer token for operator actions; null turns them off. */
  operator_token: string | null;
  registry: Registry;
  source: ApiSource;
  /** How often the processing page's history takes a point, wall-clock ms (default 10 s; an hour is kept). */
  processing_sample_ms?: number;
}

/** The kinds of change /api/events streams. */
export const EVENT_KINDS = ['window', 'rolling', 'alert', 'forecast', 'fleet'] as const;

class BadRequest extends Error {
  readonly status: number;
  readonly field: string | null;
  constructor(status: number, message: string, field: string | null) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

/** Parses route input with its schema; the first problem becomes a 400 naming the field. */
function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.join('.') || null;
  const message = issue.code === 'unrecognized_keys' ? `unknown parameter ${issue.keys.join(', ')}` : issue.message;
  throw new BadRequest(400, field && issue.code !== 'unrecognized_keys' ? `${field}: ${message}` : message, field);
}

const notFound = (what: string, id: string) => new BadRequest(404, `no ${what} ${id}`, 'id');

export function buildHttp(options: HttpOptions): FastifyInstance {
  const { source } = options;
  const app = Fastify({ logger: false });
  const started = Date.now();
  const history = new ProcessingHistory(options.registry, options.processing_sample_ms);
  app.addHook('onReady', async () => history.start());
  app.addHook('onClose', async () => history.stop());

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof BadRequest) {
      if (err.status === 401) reply.header('www-authenticate', 'Bearer');
      const error = { 401: 'unauthorized', 403: 'forbidden', 404: 'not_found' }[err.status] ?? 'bad_request';
      return reply.code(err.status).send({ error, message: err.message, field: err.field });
    }
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return reply.code(status).send({ error: status < 500 ? 'bad_request' : 'internal', message: status < 500 ? (err as Error).message : 'internal error; see the central log', field: null });
  });

  void app.register(swagger, { mode: 'static', specification: { document: openApiDocument(options.version) as never } });
  void app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => openApiDocument(options.version));

  app.get('/api/health', async (_req, reply) => {
    const h = await source.health();
    reply.code(h.status === 'ok' ? 200 : 503);
    return { status: h.status, version: options.version, uptime_s: (Date.now() - started) / 1000, now_ms: source.now(), checks: h.checks };
  });

  // Probes for an orchestrator: 200 or 503, with what was checked.
  app.get('/livez', async (_req, reply) => {
    const p = await source.live();
    return reply.code(p.ok ? 200 : 503).send(probeBody(p));
  });
  app.get('/readyz', async (_req, reply) => {
    const p = await source.ready();
    return reply.code(p.ok ? 200 : 503).send(probeBody(p));
  });

  app.get('/api/network', async (req) => {
    parse(NoQuery, req.query);
    return source.network();
  });

  app.get('/api/stations', async (req) => {
    parse(NoQuery, req.query);
    const stations = await source.stations();
    return { generated_ms: source.now(), count: stations.length, stations };
  });

  const page = async (level: WindowLevel, key: string, q: HistoryQuery): Promise<WindowPage> => {
    // One more than asked says whether another page follows.
    const rows = await source.windows(level, key, q.from_ms, q.to_ms, q.limit + 1);
    const items = rows.slice(0, q.limit);
    return { level, key, items, next_from_ms: rows.length > q.limit ? items.at(-1)!.window_start_ms + 1 : null };
  };

  app.get('/api/stations/:id/windows', async (req) => {
    const { id } = parse(IdParams, req.params);
    const q = parse(StationHistoryQuery, req.query);
    if (!source.hasStation(id)) throw notFound('station', id);
    if (q.level === 'station') return page('station', id, q);
    // The station's detectors, a page each; the merged page ends where the first of them has more, so the next
    // page (from there) repeats nothing and skips nothing.
    const detectors = (await source.detectors()).filter((d) => d.station_id === id);
    const pages = await Promise.all(detectors.map((d) => page('detector', d.detector_id, q)));
    const more = pages.map((p) => p.next_from_ms).filter((n): n is number => n !== null);
    const next_from_ms = more.length > 0 ? Math.min(...more) : null;
    const items = pages
      .flatMap((p) => p.items)
      .filter((w) => next_from_ms === null || w.window_start_ms < next_from_ms)
      .sort((a, b) => a.window_start_ms - b.window_start_ms || a.key.localeCompare(b.key));
    return { level: 'detector', key: id, items, next_from_ms } satisfies WindowPage;
  });

  app.get('/api/detectors', async (req) => {
    parse(NoQuery, req.query);
    const detectors = await source.detectors();
    return { count: detectors.length, detectors };
  });

  app.get('/api/detectors/:id/windows', async (req) => {
    const { id } = parse(IdParams, req.params);
    const q = parse(HistoryQuery, req.query);
    if (!(await source.detectors()).some((d) => d.detector_id === id)) throw notFound('detector', id);
    return page('detector', id, q);
  });

  app.get('/api/alerts', async (req) => {
    const alerts = await source.alerts(parse(AlertsQuery, req.query));
    return { count: alerts.length, alerts };
  });

  // Operator actions: a bearer token, compared in constant time; off when none is configured.
  const operator = (authorization: string | undefined): void => {
    if (options.operator_token === null) throw new BadRequest(403, 'operator actions are off: set operator_token in central’s configuration', null);
    const given = Buffer.from(/^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '');
    const want = Buffer.from(options.operator_token);
    if (given.length !== want.length || !timingSafeEqual(given, want)) throw new BadRequest(401, 'give the operator token as Authorization: Bearer <token>', 'authorization');
  };

  app.post('/api/alerts/:id/ack', async (req, reply) => {
    operator(req.headers.authorization);
    const { id } = parse(z.object({ id: z.string().min(1).max(128) }), req.params);
    const { by } = parse(AckBody, req.body ?? {});
    if (!(await source.acknowledgeAlert(id, by))) throw notFound('alert', id);
    reply.code(200);
    return { alert_id: id, acknowledged: true as const };
  });

  app.post('/api/devices/:id/:action', async (req) => {
    operator(req.headers.authorization);
    const { id, action } = parse(z.object({ id: IdParams.shape.id, action: z.enum(['disable', 'enable']) }), req.params);
    const { by } = parse(AckBody, req.body ?? {});
    if (!(await source.commandDevice(id, action, by))) throw notFound('device', id);
    return { device_id: id, action };
  });

  app.get('/api/fleet', async (req) => {
    parse(NoQuery, req.query);
    const devices = await source.fleet();
    return { generated_ms: source.now(), count: devices.length, devices };
  });

  app.get('/api/events', (req, reply) => streamEvents(source.events, reply, req.raw));

  app.get('/api/processing', async (req) => {
    parse(NoQuery, req.query);
    return history.view(source.now());
  });

  // The dashboard: static files, nothing fetched from elsewhere.
  void app.register(fastifyStatic, { root: join(import.meta.dirname, '..', 'dashboard'), prefix: '/dashboard/', decorateReply: false });
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/dashboard/'));

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', options.registry.contentType);
    return options.registry.metrics();
  });

  return app;
}

/** Pending event text past this is written at once rather than at the end of the event-loop turn. */
const SSE_FLUSH_BYTES = 256 * 1024;

/**
 * Server-sent events until the client goes: one `event:` per change, a comment every 15 s to keep proxies open.
 * The events of one event-loop turn go out as one write: a batch of bins changes thousands of windows at once,
 * and a write each cost more than making their JSON (which the log's copy shares: frozenJson).
 */
function streamEvents(events: EventEmitter, reply: FastifyReply, req: NodeJS.EventEmitter): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write(': WacoFlow events\n\n');
  let pending = '';
  let flushing: NodeJS.Immediate | null = null;
  const flush = (): void => {
    if (flushing) clearImmediate(flushing);
    flushing = null;
    if (pending.length > 0) res.write(pending);
    pending = '';
  };
  const send = (text: string): void => {
    pending += text;
    if (pending.length >= SSE_FLUSH_BYTES) flush();
    else flushing ??= setImmediate(flush);
  };
  const listeners = EVENT_KINDS.map((kind) => [kind, (data: unknown) => send(`event: ${kind}\ndata: ${jsonOf(data)}\n\n`)] as const);
  for (const [kind, fn] of listeners) events.on(kind, fn);
  const ping = setInterval(() => send(': ping\n\n'), 15_000);
  req.on('close', () => {
    clearInterval(ping);
    if (flushing) clearImmediate(flushing);
    for (const [kind, fn] of listeners) events.off(kind, fn);
  });
}
