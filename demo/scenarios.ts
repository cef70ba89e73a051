/**
 * The demo scenarios. Each sets up the simulated city (settings), watches the running system through its API
 * and /metrics as an operator would, and judges its own outcome from what it read: the evidence in its
 * PASS/FAIL line is those readings, never a constant.
 */
import type { FleetDevice, ProcessingView, StationView } from '../central/http/api.ts';
import type { EmbeddedConfig } from '../embedded/config.ts';
import type { Alert, Congestion, WindowResult } from '../protocol/index.ts';
import { ORDER as CONGESTION_ORDER } from '../central/classify/congestion.ts';
import { wacoNetwork } from '../simulators/waco/network.ts';
import type { DemoContext, Outcome } from './runner.ts';

export interface Scenario {
  name: string;
  title: string;
  /** Local time of day in Waco (today) the simulated clock starts at. */
  starts_at: string;
  /** What the scenario's city runs with, over the demo's defaults. */
  settings: Partial<EmbeddedConfig>;
  run(ctx: DemoContext): Promise<Outcome>;
}

interface StationsBody {
  count: number;
  stations: StationView[];
}
interface FleetBody {
  devices: FleetDevice[];
}
interface AlertsBody {
  alerts: Alert[];
}
interface WindowsBody {
  items: WindowResult[];
}

const fmt = (n: number) => n.toLocaleString('en-US');
const rank = (c: string) => CONGESTION_ORDER.indexOf(c as Congestion);
const verdict = (failures: string[], evidence: string): Outcome => ({ pass: failures.length === 0, evidence: failures.length === 0 ? evidence : `${failures.join('; ')} (${evidence})` });

const normal: Scenario = {
  name: 'normal',
  title: 'normal operation: the whole city on every driver, no faults, in the morning peak',
  starts_at: '07:30',
  settings: {},
  async run(ctx) {
    const failures: string[] = [];
    // Windows are final a minute (the grace period) after they end: two more by minute 11.5.
    await ctx.watch(11.5, 30);
    const { stations } = await ctx.get<StationsBody>('/api/stations');
    const { devices } = await ctx.get<FleetBody>('/api/fleet');
    const inputs = devices.flatMap((d) => d.inputs);
    const drivers = [...new Set(inputs.map((i) => i.driver))].sort();
    const withFinal = stations.filter((s) => s.last_final !== null);
    const levels = new Map<string, number>();
    for (const s of stations) levels.set(s.last_final?.congestion ?? 'none', (levels.get(s.last_final?.congestion ?? 'none') ?? 0) + 1);
    const m = await ctx.metrics();
    const stored = m.sum('wacoflow_central_bins_total', { result: 'stored' }) ?? 0;
    const invalid = m.sum('wacoflow_central_bins_total', { result: 'invalid' }) ?? 0;
    ctx.say(`${withFinal.length} of ${stations.length} stations have final windows; congestion ${[...levels].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    ctx.say(`${devices.length} agents, ${inputs.length} inputs on ${drivers.join(', ')}; ${fmt(stored)} bins stored, ${invalid} invalid`);

    if (withFinal.length !== stations.length) failures.push(`${stations.length - withFinal.length} stations have no final window`);
    if (drivers.length !== 4) failures.push(`drivers seen: ${drivers.join(', ')} (expected four kinds)`);
    const notOk = inputs.filter((i) => i.state !== 'ok');
    if (notOk.length > 0) failures.push(`inputs not ok: ${notOk.map((i) => `${i.name} ${i.state}`).join(', ')}`);
    const offline = devices.filter((d) => d.status !== 'online');
    if (offline.length > 0) failures.push(`agents not online: ${offline.map((d) => d.device_id).join(', ')}`);
    if (invalid > 0) failures.push(`${invalid} bins invalid`);
    if (ctx.warnings.length > 0) failures.push(`${ctx.warnings.length} warnings logged, first: ${ctx.warnings[0]!.msg}`);
    return verdict(
      failures,
      `${withFinal.length}/${stations.length} stations final through ${ctx.local(ctx.start_ms + 10 * 60_000)} from ${drivers.join(', ')} on ${devices.length} agents; ${fmt(stored)} bins stored, ${invalid} invalid; ${ctx.warnings.length} warnings`,
    );
  },
};

const FAILING_FEED = 'txdot-i35';
const OUTAGE = { from_min: 3, minutes: 8 };

const feedFailure: Scenario = {
  name: 'feed-failure',
  title: `a detector feed fails (${FAILING_FEED}, no answer for ${OUTAGE.minutes} minutes): its circuit breaker opens, half-opens and closes`,
  starts_at: '10:00',
  settings: { faults: [`${FAILING_FEED}:outage@${OUTAGE.from_min}+${OUTAGE.minutes}`] },
  async run(ctx) {
    const input = { input: FAILING_FEED };
    const seen: { state: string; at: string }[] = [];
    let transitions = { open: 0, half_open: 0, closed: 0 };
    const end = OUTAGE.from_min + OUTAGE.minutes;
    let closedAfterOutage = false;
    ctx.say(`the ${FAILING_FEED} feed stops answering at ${ctx.local(ctx.start_ms + OUTAGE.from_min * 60_000)} and is back at ${ctx.local(ctx.start_ms + end * 60_000)}`);
    // Watch central's /metrics as Prometheus would: each input's breaker state and its transitions.
    await ctx.watch(end + 8, 10, async () => {
      const m = await ctx.metrics();
      const state = m.select('wacoflow_fleet_input_breaker_state', input).find((s) => s.value === 1)?.labels.state;
      const now = {
        open: m.sum('wacoflow_fleet_input_breaker_transitions_total', { ...input, to: 'open' }) ?? 0,
        half_open: m.sum('wacoflow_fleet_input_breaker_transitions_total', { ...input, to: 'half_open' }) ?? 0,
        closed: m.sum('wacoflow_fleet_input_breaker_transitions_total', { ...input, to: 'closed' }) ?? 0,
      };
      if (state && seen.at(-1)?.state !== state) {
        seen.push({ state, at: ctx.local(ctx.clock.now()) });
        ctx.say(`wacoflow_fleet_input_breaker_state{input="${FAILING_FEED}",state="${state}"} 1`);
      }
      if (now.open !== transitions.open || now.half_open !== transitions.half_open || now.closed !== transitions.closed) {
        ctx.say(`wacoflow_fleet_input_breaker_transitions_total{input="${FAILING_FEED}"}: open ${now.open}, half_open ${now.half_open}, closed ${now.closed}`);
        transitions = now;
      }
      closedAfterOutage = ctx.minute() > end && transitions.closed > 0 && state === 'closed';
      return closedAfterOutage;
    });
    const { devices } = await ctx.get<FleetBody>('/api/fleet');
    const feed = devices.flatMap((d) => d.inputs).find((i) => i.name === FAILING_FEED);
    const failures: string[] = [];
    if (!seen.some((s) => s.state === 'open')) failures.push('the breaker was never seen open');
    if (transitions.half_open === 0) failures.push('no half-open trial was counted');
    if (!closedAfterOutage) failures.push('the breaker did not close after the feed came back');
    if (feed?.state !== 'ok') failures.push(`the input is ${feed?.state ?? 'missing'} at the end`);
    const failedReads = ctx.warnings.filter((w) => w.input === FAILING_FEED).length;
    const others = ctx.warnings.filter((w) => w.input !== FAILING_FEED);
    if (others.length > 0) failures.push(`${others.length} warnings about anything else, first: ${others[0]!.msg}`);
    return verdict(
      failures,
      `breaker ${seen.map((s) => `${s.state} ${s.at}`).join(' → ')}; transitions open ${transitions.open}, half_open ${transitions.half_open}, closed ${transitions.closed}; ${failedReads} warnings from the feed, input ${feed?.state ?? 'missing'} at the end`,
    );
  },
};

// Minutes from the scenario's start (16:05) to kickoff (18:00). The gates close 90 minutes before kickoff, at
// 16:30: 25 simulated minutes (50 s at 30×) for central to replay its week of history into the models first, as a
// deployed central would have long before a game. Starting at 16:20, the replay once ran past the congestion
// in CI, and the warning's opening and its close reached the alerts table in one pass.
const KICKOFF_MIN = 115;

const gameDay: Scenario = {
  name: 'game-day',
  title: 'a home game at McLane Stadium: the gates queue before kickoff, the queue spills back along MLK Jr Blvd',
  starts_at: '16:05',
  // A week of ordinary days before it, so the forecasts know the usual evening and a game shows as a deviation.
  settings: { game_kickoff_min: KICKOFF_MIN, history_days: 7 },
  async run(ctx) {
    const net = wacoNetwork();
    const gate = 'mlk-sb-stadium';
    const upstream = 'mlk-sb-elm';
    const far = 'hwy6-nb-lake-shore';
    const gatesClose = KICKOFF_MIN - 90;
    ctx.say(`kickoff at ${ctx.local(ctx.start_ms + KICKOFF_MIN * 60_000)}; the stadium gates (${net.stadium.gates.join(', ')}) pass ${net.stadium.gate_capacity_factor * 100} % from ${ctx.local(ctx.start_ms + gatesClose * 60_000)}`);
    // Per station, when its final windows first showed moderate or worse, and when central first warned of it.
    const congestedFrom = new Map<string, number>();
    const warnedFrom = new Map<string, { window_start_ms: number; detail: string }>();
    const before = new Map<string, string>();
    await ctx.watch(KICKOFF_MIN - 40, 60, async () => {
      const { alerts } = await ctx.get<AlertsBody>('/api/alerts?limit=1000');
      for (const a of alerts.filter((x) => x.rule === 'congestion_onset' && [gate, upstream].includes(x.key)).sort((x, y) => x.window_start_ms! - y.window_start_ms!)) {
        if (warnedFrom.has(a.key) || congestedFrom.has(a.key)) continue;
        warnedFrom.set(a.key, { window_start_ms: a.window_start_ms!, detail: a.detail });
        ctx.say(`${a.key}: onset warning from the window at ${ctx.local(a.window_start_ms!)}: ${a.detail}`);
      }
      // Each station's final windows since the start, from the API: the first congested one is exact even when
      // several windows became final between two looks.
      for (const id of [gate, upstream, far]) {
        if (congestedFrom.has(id)) continue;
        const page = await ctx.get<WindowsBody>(`/api/stations/${id}/windows?from_ms=${ctx.start_ms}&to_ms=${ctx.clock.now()}&limit=500`);
        const finals = page.items.filter((w) => w.state !== 'provisional');
        for (const w of finals.filter((x) => x.window_start_ms < ctx.start_ms + gatesClose * 60_000)) before.set(id, w.congestion);
        const w = finals.find((x) => rank(x.congestion) >= rank('moderate'));
        if (w) {
          congestedFrom.set(id, w.window_start_ms);
          ctx.say(`${id}: ${w.congestion} in the window from ${ctx.local(w.window_start_ms)} (speed ${w.speed_kmh?.toFixed(0) ?? '–'} km/h, occupancy ${w.occupancy_pct?.toFixed(0) ?? '–'} %)`);
        }
      }
      return congestedFrom.has(gate) && congestedFrom.has(upstream) && ctx.minute() > gatesClose + 30;
    });
    const failures: string[] = [];
    const at = (id: string) => congestedFrom.get(id);
    if (rank(before.get(gate) ?? 'unknown') >= rank('moderate')) failures.push(`${gate} was already ${before.get(gate)} before the gates closed`);
    if (at(gate) === undefined) failures.push(`${gate} never became congested`);
    if (at(upstream) === undefined) failures.push(`the queue never reached ${upstream}`);
    else if (at(gate) !== undefined && at(upstream)! < at(gate)!) failures.push(`${upstream} congested before the gate`);
    if (at(far) !== undefined) failures.push(`${far}, far from the stadium, became congested too`);
    // The warning must come before the congestion: at the gate, or at Elm Ave before the queue reaches it.
    const lead = (id: string): number | null => {
      const w = warnedFrom.get(id);
      const c = at(id);
      return w && c !== undefined && w.window_start_ms < c ? Math.round((c - w.window_start_ms) / 60_000) : null;
    };
    const leads = [gate, upstream].map((id) => `${id}: ${lead(id) === null ? 'no warning before its congestion' : `warned ${lead(id)} min before it`}`);
    if (at(gate) !== undefined && lead(gate) === null && lead(upstream) === null) failures.push(`no onset warning came before the congestion at ${gate} or ${upstream}`);
    return verdict(
      failures,
      `${gate} congested from ${at(gate) ? ctx.local(at(gate)!) : 'never'}, the queue at ${upstream} from ${at(upstream) ? ctx.local(at(upstream)!) : 'never'}, ${far} ${at(far) ? 'congested' : 'flowing'}; ${leads.join('; ')}`,
    );
  },
};

const topology: Scenario = {
  name: 'topology',
  title: 'a walk through the running topology: agents, gateway, partitions, consumers, lag',
  starts_at: '12:00',
  settings: {},
  async run(ctx) {
    await ctx.watch(4, 30);
    const { devices } = await ctx.get<FleetBody>('/api/fleet');
    const m = await ctx.metrics();
    const processing = await ctx.get<ProcessingView>('/api/processing');
    const connected = m.sum('wacoflow_gateway_connected_devices') ?? 0;
    const forwarded = m.sum('wacoflow_gateway_messages_total', { result: 'forwarded' }) ?? 0;
    const bins = processing.partitions.filter((p) => p.topic.includes('bins'));
    ctx.say(`agents (${devices.length}):`);
    for (const d of devices) ctx.say(`  ${d.device_id.padEnd(22)} ${d.status.padEnd(8)} ${d.inputs.map((i) => `${i.name} (${i.driver})`).join(', ')}`);
    ctx.say(`  └─ MQTT ─▶ gateway, embedded broker ${ctx.system.mqttUrl()}: ${connected} connected, ${fmt(forwarded)} messages forwarded`);
    ctx.say(`     └─ log ─▶ ${bins[0]?.topic ?? 'bins topic'}: ${bins.length} partitions`);
    ctx.say(`        └─ central, consumer group wacoflow-central: lag per partition ${bins.map((p) => p.lag).join(' ')} (mean batch ${processing.batch_mean_ms?.toFixed(1) ?? '–'} ms)`);
    const failures: string[] = [];
    const online = devices.filter((d) => d.status === 'online').length;
    if (online !== ctx.system.agents().length) failures.push(`${online} agents online of ${ctx.system.agents().length}`);
    if (connected !== online) failures.push(`the gateway has ${connected} connected, the fleet ${online} online`);
    if (bins.length === 0) failures.push('central reports no bins partitions');
    if (processing.lag_records > 10_000) failures.push(`consumer lag ${processing.lag_records} records`);
    return verdict(failures, `${online} agents online, ${connected} connected to the gateway, ${fmt(forwarded)} messages forwarded, ${bins.length} bins partitions consumed by wacoflow-central, lag ${processing.lag_records} records`);
  },
};

/** The families the tour reads, and what each tells an operator. */
const TOUR: [string, string][] = [
  ['wacoflow_gateway_connected_devices', 'boards connected to the gateway now'],
  ['wacoflow_gateway_messages_total', 'publishes from boards, by kind and result'],
  ['wacoflow_gateway_produce_duration_seconds', 'time from a publish to the log holding it (the PUBACK waits for it)'],
  ['wacoflow_central_bins_total', 'bins central consumed, by result (stored, late, duplicate, invalid)'],
  ['wacoflow_central_windows_emitted_total', 'window results published'],
  ['wacoflow_central_batch_duration_seconds', 'time to process one batch of bins'],
  ['wacoflow_central_consumer_lag_records', 'records behind the head of each partition'],
  ['wacoflow_fleet_device_up', 'each board online (1) or not'],
  ['wacoflow_fleet_device_outbox_depth', 'bins waiting on each board'],
  ['wacoflow_fleet_input_breaker_state', 'each input’s circuit breaker'],
  ['wacoflow_station_congestion', 'each station’s level in its newest final window'],
];

const metricsTour: Scenario = {
  name: 'metrics',
  title: 'a tour of /metrics: what each family says, and that counters move',
  starts_at: '17:00',
  settings: {},
  async run(ctx) {
    await ctx.watch(2, 30);
    const first = await ctx.metrics();
    await ctx.watch(7, 30);
    const last = await ctx.metrics();
    const failures: string[] = [];
    for (const [name, meaning] of TOUR) {
      const base = last.sum(name) ?? last.sum(`${name}_count`);
      if (base === null) {
        failures.push(`${name} missing`);
        continue;
      }
      const histogram = last.sum(`${name}_count`) !== null;
      const value = histogram ? `${fmt(last.sum(`${name}_count`)!)} observations, mean ${((last.sum(`${name}_sum`)! / Math.max(1, last.sum(`${name}_count`)!)) * 1000).toFixed(1)} ms` : fmt(base);
      ctx.say(`${name.padEnd(46)} ${value.padEnd(30)} ${meaning}`);
    }
    const grew = (name: string, match: Record<string, string> = {}) => (last.sum(name, match) ?? 0) - (first.sum(name, match) ?? 0);
    const stored = grew('wacoflow_central_bins_total', { result: 'stored' });
    const emitted = grew('wacoflow_central_windows_emitted_total');
    const up = last.sum('wacoflow_fleet_device_up') ?? 0;
    if (stored <= 0) failures.push('no bins stored between the two scrapes');
    if (emitted <= 0) failures.push('no windows emitted between the two scrapes');
    if (up !== ctx.system.agents().length) failures.push(`wacoflow_fleet_device_up sums to ${up}, not ${ctx.system.agents().length}`);
    return verdict(failures, `${TOUR.length - failures.filter((f) => f.endsWith('missing')).length} of ${TOUR.length} families present; in five minutes ${fmt(stored)} bins stored and ${fmt(emitted)} windows emitted; ${up} boards up; ${last.families().size} families in all`);
  },
};

export const SCENARIOS: Scenario[] = [normal, feedFailure, gameDay, topology, metricsTour];
