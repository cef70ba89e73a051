/**
 * The HTTP API's contract: every route's parameters and answers as zod schemas, validated on the way in and
 * turned into the OpenAPI document served at /openapi.json, so the document cannot drift from the code.
 */
import { z } from 'zod';
import { AlertSchema, ConfigScope, EpochMs, Id, StationSchema, UpdateState, WindowLevel, WindowResultSchema } from '../../protocol/index.ts';

/** History endpoints answer at most this many windows per page. */
export const MAX_PAGE = 1_000;
/** A history request may span at most this much time (pages walk through it). */
export const MAX_RANGE_MS = 31 * 86_400_000;

const ms = (what: string) => z.coerce.number({ error: `${what} must be a number of milliseconds since 1970 (UTC)` }).pipe(EpochMs);

export const IdParams = z.object({ id: Id }).strict();

/** Endpoints without parameters still refuse unknown ones, so a typo is not silently ignored. */
export const NoQuery = z.object({}).strict();

const HistoryFields = z.object({
  from_ms: ms('from_ms').describe('start of the range, inclusive (window start, epoch ms)'),
  to_ms: ms('to_ms').describe('end of the range, exclusive (epoch ms)'),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE, `limit is at most ${MAX_PAGE}; follow next_from_ms for more`).default(288).describe(`windows per page (1–${MAX_PAGE})`),
});

/** The range checks every history query shares; unknown parameters are refused. */
const ranged = <S extends typeof HistoryFields.shape>(fields: z.ZodObject<S>) => {
  type Range = { from_ms: number; to_ms: number };
  return fields
    .strict()
    .refine((q) => (q as Range).from_ms < (q as Range).to_ms, { message: 'from_ms must be before to_ms', path: ['to_ms'] })
    .refine((q) => (q as Range).to_ms - (q as Range).from_ms <= MAX_RANGE_MS, { message: 'the range is at most 31 days', path: ['to_ms'] });
};

export const HistoryQuery = ranged(HistoryFields);
export type HistoryQuery = z.infer<typeof HistoryQuery>;

export const StationHistoryQuery = ranged(
  HistoryFields.extend({ level: z.enum(['station', 'detector']).default('station').describe("'detector' lists the station's detectors' windows") }),
);

export const AlertsQuery = z
  .object({
    state: z.enum(['open', 'closed', 'all']).default('all'),
    since_ms: ms('since_ms').optional().describe('only alerts opened or closed at or after this'),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE, `limit is at most ${MAX_PAGE}`).default(200),
  })
  .strict();
export type AlertsQuery = z.infer<typeof AlertsQuery>;

const Forecast = z.object({
  horizon_min: z.number().int(),
  target_window_start_ms: EpochMs,
  speed_kmh: z.number().nullable(),
  occupancy_pct: z.number().nullable(),
  congestion: z.string(),
  speed_low_kmh: z.number().nullable().describe('80 % interval, low end; null until enough forecasts were scored'),
  speed_high_kmh: z.number().nullable(),
  occupancy_low_pct: z.number().nullable(),
  occupancy_high_pct: z.number().nullable(),
  worse_congestion: z.string().nullable().describe("the level at the interval's worse end (low speed, high occupancy): about one time in ten"),
});

export const StationView = StationSchema.extend({
  current: WindowResultSchema.nullable().describe('the newest window, usually still provisional'),
  last_final: WindowResultSchema.nullable().describe('the newest final (or revised) window'),
  rolling: WindowResultSchema.nullable().describe('the last five minutes up to the station’s latest data'),
  forecast: z.array(Forecast).describe('15, 30 and 60 minutes ahead'),
});
export type StationView = z.infer<typeof StationView>;

export const CorridorView = z.object({
  corridor_id: Id,
  name: z.string(),
  path: z.array(z.tuple([z.number().min(-90).max(90), z.number().min(-180).max(180)])).min(2).describe('the road in travel order, [lat, lon]'),
});
export type CorridorView = z.infer<typeof CorridorView>;

export const IntersectionView = z.object({
  intersection_id: Id,
  name: z.string(),
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  approaches: z.array(z.object({ approach: z.string(), station_id: Id })).min(1).describe('each approach (the leg vehicles enter from: N, S, E, W) and its station'),
});
export type IntersectionView = z.infer<typeof IntersectionView>;

export const ProcessingPoint = z.object({
  t_ms: EpochMs,
  bins_per_s: z.number().nullable().describe('bins consumed (every result) per second since the previous point; null for the first'),
  lag_records: z.number(),
  batch_ms: z.number().nullable().describe('mean batch time since the previous point; null when no batch ran'),
});
export type ProcessingPoint = z.infer<typeof ProcessingPoint>;

export const ProcessingView = z.object({
  generated_ms: EpochMs,
  bins: z.record(z.string(), z.number()),
  lag_records: z.number(),
  partitions: z.array(z.object({ topic: z.string(), partition: z.number().int(), lag: z.number() })),
  batch_mean_ms: z.number().nullable(),
  history: z.array(ProcessingPoint).describe('the last hour, a point every 10 s of wall-clock time, oldest first: bins consumed per second, consumer lag, mean batch time'),
});
export type ProcessingView = z.infer<typeof ProcessingView>;

/** The road network as a map draws it; both lists are empty when the inventory gives no geometry. */
export interface NetworkView {
  corridors: CorridorView[];
  intersections: IntersectionView[];
}

export const WindowPage = z.object({
  level: WindowLevel,
  key: Id,
  items: z.array(WindowResultSchema),
  next_from_ms: EpochMs.nullable().describe('pass as from_ms for the next page; null on the last page'),
});
export type WindowPage = z.infer<typeof WindowPage>;

export const DetectorView = z.object({
  detector_id: Id,
  station_id: Id,
  source: z.enum(['inventory', 'observed']),
  first_seen_ms: EpochMs.nullable(),
  last_event_ms: EpochMs.nullable().describe("end of a bin in the detector's newest 5-minute window seen (stored once per window: up to a window behind its newest bin)"),
  device_id: Id.nullable().describe('the device whose bins carried its latest data'),
});
export type DetectorView = z.infer<typeof DetectorView>;

/** A board's remote configuration, from its latest heartbeat (protocol/v1/fleet-control.ts, ConfigReport). */
const FleetConfig = z.object({
  applied_hash: z.string().describe('hash of the effective configuration the board runs (`sha256:` and 16 hex digits)'),
  versions: z
    .object({ fleet: z.number().int().nullable(), site: z.number().int().nullable(), device: z.number().int().nullable() })
    .describe("the version of each scope's configuration document it applied; null where it has received none"),
  refused: z
    .object({
      scope: ConfigScope,
      version: z.number().int(),
      reason: z.string().describe('why the board refused it, e.g. a key it does not accept'),
      ts_ms: EpochMs.describe('when it refused it'),
    })
    .nullable()
    .describe('the latest document it refused and why; null once a later document applied'),
});

/** A board's software updates, from its latest heartbeat (protocol/v1/fleet-control.ts, UpdateReport). */
const FleetUpdate = z.object({
  state: UpdateState.describe('where the latest offered release stands; trial: the new version runs and is rolled back unless it proves itself'),
  version: z.string().nullable().describe('the release this state is about (offered, installed, refused or rolled back)'),
  reason: z.string().nullable().describe('why it was refused, rolled back or failed'),
  ts_ms: EpochMs.describe('when the board entered this state'),
});

export const FleetDevice = z.object({
  device_id: Id,
  status: z.enum(['online', 'offline', 'unknown']),
  last_seen_ms: EpochMs,
  heartbeat_age_s: z.number().nullable(),
  version: z.string().nullable(),
  uptime_s: z.number().nullable(),
  outbox_depth: z.number().int().nullable(),
  outbox_oldest_age_ms: z.number().nullable(),
  temperature_c: z.number().nullable(),
  clock_synced: z.boolean().nullable(),
  inputs: z.array(
    z.object({
      name: z.string(),
      driver: z.string(),
      state: z.string(),
      breaker: z.string(),
      breaker_transitions: z.object({ open: z.number().int(), half_open: z.number().int(), closed: z.number().int() }).nullable().describe('since the agent started, by the state entered; null from agents that do not report them'),
      last_error: z.string().nullable(),
    }),
  ),
  dead_letters_total: z.number().int().nullable(),
  detectors: z.number().int().describe('detectors whose latest data came from this device'),
  detector_health: z.array(z.object({ detector_id: z.string(), rule: z.string(), since_ms: EpochMs })).describe('open detector-health alerts on those detectors'),
  config: FleetConfig.nullable().describe('remote configuration as of the latest heartbeat: applied hash, document versions, latest refusal; null from agents that do not report it'),
  update: FleetUpdate.nullable().describe('software updates as of the latest heartbeat; null from agents that do not report them'),
});
export type FleetDevice = z.infer<typeof FleetDevice>;

export const AckBody = z.object({ by: z.string().min(1).max(64).default('operator').describe('who acknowledges (name or initials)') }).strict();

export const ApiError = z.object({ error: z.string(), message: z.string(), field: z.string().nullable() });

/** The routes as OpenAPI sees them. */
interface RouteDoc {
  method?: 'get' | 'post';
  /** Needs the operator token (Authorization: Bearer …). */
  operator?: boolean;
  body?: z.ZodType;
  path: string;
  summary: string;
  params?: z.ZodType;
  query?: z.ZodType;
  response: z.ZodType | 'text/plain' | 'text/event-stream';
}

const ProbeResult = z.object({ status: z.enum(['ok', 'failing']), checks: z.record(z.string(), z.string()) });

const ROUTES: RouteDoc[] = [
  { path: '/livez', summary: 'Liveness probe: 200 while the consume loop turns (a fetch or a batch within the last minute, or Kafka is away and the client retries), 503 when the Kafka client gave up or the loop is stuck while Kafka answers', response: ProbeResult },
  { path: '/readyz', summary: 'Readiness probe: 200 when PostgreSQL answers, the consumer is in its group and the producer is connected, 503 otherwise', response: ProbeResult },
  { path: '/api/health', summary: 'Liveness: 200 when the store answers and the consumer runs, 503 otherwise', response: z.object({ status: z.enum(['ok', 'degraded']), version: z.string(), uptime_s: z.number(), now_ms: EpochMs, checks: z.record(z.string(), z.string()) }) },
  { path: '/api/network', summary: 'The road network for maps: corridors along their roads, intersections with their approach stations (empty when the inventory gives none)', response: z.object({ corridors: z.array(CorridorView), intersections: z.array(IntersectionView) }) },
  { path: '/api/stations', summary: 'Every station with its current, last final and rolling window, congestion, level of service and forecast', response: z.object({ generated_ms: EpochMs, count: z.number().int(), stations: z.array(StationView) }) },
  { path: '/api/stations/{id}/windows', summary: "A station's window history (or its detectors', with level=detector), oldest first, paginated", params: IdParams, query: StationHistoryQuery, response: WindowPage },
  { path: '/api/detectors', summary: 'Every known detector: from the inventory or first seen in bins', response: z.object({ count: z.number().int(), detectors: z.array(DetectorView) }) },
  { path: '/api/detectors/{id}/windows', summary: "A detector's window history, oldest first, paginated", params: IdParams, query: HistoryQuery, response: WindowPage },
  { path: '/api/alerts', summary: 'Alerts, newest first: traffic anomalies, detector health, devices', query: AlertsQuery, response: z.object({ count: z.number().int(), alerts: z.array(AlertSchema) }) },
  { method: 'post', operator: true, path: '/api/alerts/{id}/ack', summary: 'Acknowledge an alert (operator token required)', params: IdParams, body: AckBody, response: z.object({ alert_id: z.string(), acknowledged: z.literal(true) }) },
  { method: 'post', operator: true, path: '/api/devices/{id}/disable', summary: 'Disable a device on every gateway: it is disconnected and refused until enabled (operator token required)', params: IdParams, body: AckBody, response: z.object({ device_id: z.string(), action: z.literal('disable') }) },
  { method: 'post', operator: true, path: '/api/devices/{id}/enable', summary: 'Let a disabled device log in again (operator token required)', params: IdParams, body: AckBody, response: z.object({ device_id: z.string(), action: z.literal('enable') }) },
  { path: '/api/fleet', summary: 'Every device: status, heartbeat age, version, outbox, temperature, clock sync, inputs, applied configuration and any refusal, update state', response: z.object({ generated_ms: EpochMs, count: z.number().int(), devices: z.array(FleetDevice) }) },
  { path: '/api/events', summary: "Server-sent events: 'window', 'rolling', 'alert', 'forecast' and 'fleet' changes, each as JSON", response: 'text/event-stream' },
  { path: '/api/processing', summary: 'Pipeline figures: bins by result, consumer lag per partition, mean batch time, and the last hour of consume rate, lag and batch time', response: ProcessingView },
  { path: '/metrics', summary: 'Prometheus metrics (text exposition format)', response: 'text/plain' },
];

function parameters(where: 'path' | 'query', schema: z.ZodType | undefined): object[] {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, { description?: string }>; required?: string[]; allOf?: { properties?: Record<string, { description?: string }>; required?: string[] }[] };
  const parts = json.allOf ?? [json];
  return parts.flatMap((p) =>
    Object.entries(p.properties ?? {}).map(([name, s]) => ({
      name, in: where, required: where === 'path' || (p.required ?? []).includes(name), schema: s, ...(s.description ? { description: s.description } : {}),
    })),
  );
}

/** The OpenAPI 3.1 document for /openapi.json and the /docs page. */
export function openApiDocument(version: string): object {
  const paths: Record<string, object> = {};
  for (const r of ROUTES) {
    const content =
      typeof r.response === 'string'
        ? { [r.response]: { schema: { type: 'string' } } }
        : { 'application/json': { schema: z.toJSONSchema(r.response, { io: 'output', unrepresentable: 'any' }) } };
    const error = (description: string) => ({ description, content: { 'application/json': { schema: z.toJSONSchema(ApiError) } } });
    const errors = r.params || r.query || r.body ? { 400: error('invalid input') } : {};
    const missing = r.params ? { 404: error('unknown id') } : {};
    const auth = r.operator ? { 401: error('missing or wrong operator token'), 403: error('operator actions are off (no operator_token configured)') } : {};
    const operation = {
      summary: r.summary,
      parameters: [...parameters('path', r.params), ...parameters('query', r.query)],
      ...(r.body ? { requestBody: { required: false, content: { 'application/json': { schema: z.toJSONSchema(r.body, { io: 'input' }) } } } } : {}),
      ...(r.operator ? { security: [{ operator: [] }] } : {}),
      responses: { 200: { description: 'OK', content }, ...errors, ...missing, ...auth },
    };
    paths[r.path] = { ...(paths[r.path] ?? {}), [r.method ?? 'get']: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'WacoFlow central', version, description: 'Read-only views of windows, alerts and the fleet. Times are UTC epoch milliseconds; speeds km/h; occupancy percent.' },
    paths,
    components: { securitySchemes: { operator: { type: 'http', scheme: 'bearer', description: 'central’s operator_token' } } },
  };
}
