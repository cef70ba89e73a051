/**
 * The HTTP API of a running central (in-process log + PGlite): every endpoint with good input and with bad
 * input (wrong types, unknown ids, a reversed range, a huge page), pagination that neither repeats nor skips,
 * the fleet from heartbeats, server-sent events, and the OpenAPI document that describes it all.
 */
import { describe, expect, it } from 'vitest';
import { decode, encode, expecting, type Bin, type Heartbeat, type Station } from '../../protocol/index.ts';
import { backends, produceBins, waitProcessed, type TestCentral } from '../testing.ts';
import { testEnv } from '../test-env.ts';

const T0 = Date.UTC(2026, 10, 24, 6, 0, 0);
const MIN = 60_000;
const station = (id: string): Station => ({ station_id: id, name: id, kind: 'freeway', corridor_id: 'api-c', lat: 31.5, lon: -97.1, lanes: 2, free_flow_kmh: 110 });
const STATIONS = [station('api-s1'), station('api-s2')];
const DETECTORS = STATIONS.flatMap((s) => [1, 2].map((l) => ({ detector_id: `${s.station_id}-l${l}`, station_id: s.station_id })));

/** Minute bins for every detector over minutes [0, minutes): 30 minutes = 6 windows per key. */
const bins = (minutes: number): Bin[] =>
  DETECTORS.flatMap((d, k) =>
    Array.from({ length: minutes }, (_, m) => ({
      device_id: `api-agent-${d.station_id}`, seq: k * 1_000 + m + 1, detector_id: d.detector_id, station_id: d.station_id, bin_start_ms: T0 + m * MIN, bin_ms: MIN,
      clock: { synced: true, offset_ms: 0 }, measures: { ...expecting(3), volume: 10, samples_seen: 3 },
    })),
  );

const heartbeat = (device_id: string, ts_ms: number, reports: Pick<Heartbeat, 'config' | 'update'> = {}, input: Partial<Heartbeat['inputs'][number]> = {}): Heartbeat => ({
  ...reports, v: 1, device_id, ts_ms, uptime_s: 3_600, version: '0.1.0', config_hash: 'abc', cpu_pct: 12, mem_rss_bytes: 50_000_000, temperature_c: 48.5,
  disk_free_bytes: 1e9, outbox: { depth: 7, bytes: 2_000, oldest_age_ms: 90_000, last_error: null },
  inputs: [{ name: 'feed', driver: 'tmdd-http', state: 'ok', breaker: 'closed', last_error: null, samples_total: 100, dropped_total: 0, ...input }],
  clock: { synced: true, offset_ms: 3 }, dead_letters_total: 0,
});

async function get(t: TestCentral, path: string): Promise<{ status: number; body: any }> {
  const { host, port } = t.central.address()!;
  const res = await fetch(`http://${host}:${port}${path}`);
  const text = await res.text();
  return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

describe('central HTTP API', () => {
  const run = testEnv(backends()[0]!);

  async function started(): Promise<{ t: TestCentral; env: Awaited<ReturnType<typeof run.open>>['env']; topics: Awaited<ReturnType<typeof run.open>>['topics'] }> {
    const { env, topics, clock } = await run.open(T0 + 40 * MIN);
    const t = await run.central(env, { clock, stations: STATIONS, detectors: DETECTORS, topics });
    const all = bins(30);
    await waitProcessed(t, topics.bins, await produceBins(env.log, topics.bins, all));
    await t.central.finalize();
    return { t, env, topics };
  }

  it('serves stations, window history with pagination, detectors, alerts and the OpenAPI document', async () => {
    const { t } = await started();

    const stations = await get(t, '/api/stations');
    expect(stations.status).toBe(200);
    expect(stations.body.stations.map((s: { station_id: string }) => s.station_id)).toEqual(['api-s1', 'api-s2']);
    expect(stations.body.stations[0]).toMatchObject({ last_final: { key: 'api-s1', state: 'final', volume: 100, congestion: expect.any(String) }, forecast: expect.any(Array) });

    // Six windows, two per page: three pages that add up to exactly the six, in order.
    const starts: number[] = [];
    let from: number | null = T0;
    let pages = 0;
    while (from !== null) {
      const page = await get(t, `/api/stations/api-s1/windows?from_ms=${from}&to_ms=${T0 + 3_600_000}&limit=2`);
      expect(page.status).toBe(200);
      starts.push(...page.body.items.map((w: { window_start_ms: number }) => w.window_start_ms));
      from = page.body.next_from_ms;
      pages++;
    }
    expect(starts).toEqual(Array.from({ length: 6 }, (_, i) => T0 + i * 300_000));
    expect(pages).toBe(3);

    const lanes = await get(t, `/api/stations/api-s1/windows?from_ms=${T0}&to_ms=${T0 + 600_000}&level=detector`);
    expect(lanes.body.items.map((w: { key: string }) => w.key)).toEqual(['api-s1-l1', 'api-s1-l2', 'api-s1-l1', 'api-s1-l2']);

    const detectors = await get(t, '/api/detectors');
    expect(detectors.body.detectors.map((d: { detector_id: string }) => d.detector_id)).toEqual(DETECTORS.map((d) => d.detector_id));
    const history = await get(t, `/api/detectors/api-s2-l1/windows?from_ms=${T0}&to_ms=${T0 + 300_000}`);
    expect(history.body).toMatchObject({ level: 'detector', key: 'api-s2-l1', next_from_ms: null, items: [{ volume: 50, state: 'final' }] });

    const alerts = await get(t, '/api/alerts?state=open&limit=10');
    expect(alerts.status).toBe(200);
    expect(alerts.body).toEqual({ count: alerts.body.alerts.length, alerts: expect.any(Array) });

    // The processing figures: every stored bin counted, the bins topic's lag per partition.
    const processing = await get(t, '/api/processing');
    expect(processing.body).toMatchObject({ bins: { stored: 120, duplicate: 0, late: 0, invalid: 0 }, lag_records: 0 });
    expect(processing.body.partitions.length).toBeGreaterThan(0);
    expect(processing.body.batch_mean_ms).toBeGreaterThan(0);

    const doc = await get(t, '/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/stations', '/api/stations/{id}/windows', '/api/detectors', '/api/detectors/{id}/windows', '/api/network', '/api/alerts', '/api/fleet', '/api/events']));
    // An inventory without road geometry: the network is empty, and a map joins each corridor's stations.
    expect((await get(t, '/api/network')).body).toEqual({ corridors: [], intersections: [] });
    expect(doc.body.paths['/api/stations/{id}/windows'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['id', 'from_ms', 'to_ms', 'limit', 'level']);
    const docs = await get(t, '/docs/');
    expect(docs.status).toBe(200);
    expect(docs.body).toContain('swagger');
  }, 60_000);

  it('answers bad input with a 4xx that names the field', async () => {
    const { t } = await started();
    const range = `from_ms=${T0}&to_ms=${T0 + 600_000}`;
    const cases: [string, number, string | null, RegExp][] = [
      [`/api/stations/api-s1/windows?from_ms=yesterday&to_ms=${T0}`, 400, 'from_ms', /number of milliseconds/],
      [`/api/stations/api-s1/windows?from_ms=${T0 + 600_000}&to_ms=${T0}`, 400, 'to_ms', /before/],
      [`/api/stations/api-s1/windows?${range}&limit=1000000`, 400, 'limit', /at most 1000/],
      [`/api/stations/api-s1/windows?${range}&limit=0`, 400, 'limit', /./],
      [`/api/stations/api-s1/windows?from_ms=0&to_ms=${T0}`, 400, 'to_ms', /31 days/],
      [`/api/stations/api-s1/windows?${range}&level=corridor`, 400, 'level', /./],
      [`/api/stations/api-s1/windows?${range}&colour=red`, 400, null, /unknown parameter colour/],
      [`/api/stations/api-s1/windows?to_ms=${T0}`, 400, 'from_ms', /./],
      [`/api/stations/no-such-station/windows?${range}`, 404, 'id', /no station no-such-station/],
      [`/api/stations/bad%20id!/windows?${range}`, 400, 'id', /./],
      [`/api/detectors/no-such-detector/windows?${range}`, 404, 'id', /no detector/],
      [`/api/detectors/api-s1-l1/windows?from_ms=${T0}&to_ms=later`, 400, 'to_ms', /./],
      ['/api/alerts?state=maybe', 400, 'state', /./],
      ['/api/alerts?limit=-5', 400, 'limit', /./],
      ['/api/alerts?since_ms=soon', 400, 'since_ms', /./],
      ['/api/stations?page=2', 400, null, /unknown parameter page/],
      ['/api/detectors?station=x', 400, null, /unknown parameter station/],
      ['/api/fleet?status=online', 400, null, /unknown parameter status/],
      ['/api/processing?verbose=1', 400, null, /unknown parameter verbose/],
      ['/api/network?zoom=3', 400, null, /unknown parameter zoom/],
    ];
    for (const [path, status, field, message] of cases) {
      const res = await get(t, path);
      expect([res.status, res.body.field], path).toEqual([status, field]);
      expect(res.body.message, path).toMatch(message);
    }
    expect((await get(t, '/api/nothing-here')).status).toBe(404);
  }, 60_000);

  it('needs the operator token to acknowledge an alert or disable a device, and sends no CORS headers', async () => {
    const token = 'operator-token-0123456789abcdef';
    const { env, topics, clock } = await run.open(T0);
    const t = await run.central(env, { clock, stations: STATIONS, detectors: DETECTORS, topics, operator_token: token });
    const alert_id = 'detector_health:stuck_on:api-s1-l1:1795500000000';
    await t.store.analytics.saveAlerts([{ v: 1, alert_id, kind: 'detector_health', rule: 'stuck_on', key: 'api-s1-l1', state: 'open', severity: 'warning', opened_ms: T0, closed_ms: null, window_start_ms: T0, window_revision: 0, detail: 'occupancy 99 %' }], T0);
    const { host, port } = t.central.address()!;
    const ack = (id: string, auth: string | null, body: unknown = { by: 'jd' }) =>
      fetch(`http://${host}:${port}/api/alerts/${encodeURIComponent(id)}/ack`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://elsewhere.example', ...(auth ? { authorization: auth } : {}) }, body: JSON.stringify(body) });

    const none = await ack(alert_id, null);
    expect([none.status, none.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
    expect((await ack(alert_id, 'Bearer not-the-token')).status).toBe(401);
    expect((await ack(alert_id, `Basic ${token}`)).status).toBe(401);
    expect((await ack('no-such-alert', `Bearer ${token}`)).status).toBe(404);
    const bad = await ack(alert_id, `Bearer ${token}`, { by: 5 });
    expect([bad.status, ((await bad.json()) as { field: string }).field]).toEqual([400, 'by']);
    const ok = await ack(alert_id, `Bearer ${token}`);
    expect([ok.status, await ok.json()]).toEqual([200, { alert_id, acknowledged: true }]);
    expect(ok.headers.get('access-control-allow-origin')).toBeNull(); // no CORS: other sites' pages cannot call it
    const listed = await get(t, '/api/alerts?state=open');
    expect(listed.body.alerts).toEqual([expect.objectContaining({ alert_id, acknowledged_by: 'jd', acknowledged_ms: T0 })]);

    // Disabling a device: a command on the admin topic for the gateways; only for devices central knows.
    const producer = await env.log.producer();
    await producer.send(topics.health, [{ key: 'cab-9', value: encode(heartbeat('cab-9', T0)), headers: { type: 'heartbeat' } }]);
    await producer.close();
    await waitProcessed(t, topics.health, 1);
    const post = (path: string, auth = `Bearer ${token}`) => fetch(`http://${host}:${port}${path}`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ by: 'jd' }) });
    expect((await post('/api/devices/cab-9/disable', 'Bearer wrong')).status).toBe(401);
    expect((await post('/api/devices/no-such-board/disable')).status).toBe(404);
    expect((await post('/api/devices/cab-9/reboot')).status).toBe(400);
    const disabled = await post('/api/devices/cab-9/disable');
    expect([disabled.status, await disabled.json()]).toEqual([200, { device_id: 'cab-9', action: 'disable' }]);
    const commands: unknown[] = [];
    const consumer = env.log.consumer('api-test-admin');
    await consumer.run({ topics: [topics.admin], eachBatch: async (b) => void b.records.forEach((r) => commands.push(decode('device_command', r.value))) });
    const deadline = Date.now() + 5_000;
    while (commands.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await consumer.stop();
    expect(commands).toEqual([expect.objectContaining({ device_id: 'cab-9', action: 'disable', by: 'jd' })]);

    // A central with no operator token refuses operator actions outright.
    const { env: env2, topics: topics2, clock: clock2 } = await run.open(T0);
    const closed = await run.central(env2, { clock: clock2, stations: STATIONS, topics: topics2 });
    const a2 = closed.central.address()!;
    const off = await fetch(`http://${a2.host}:${a2.port}/api/alerts/x/ack`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect([off.status, ((await off.json()) as { message: string }).message]).toEqual([403, expect.stringContaining('operator_token')]);
  }, 60_000);

  it('shows the fleet from heartbeats and streams changes as server-sent events', async () => {
    const { t, env, topics } = await started();
    const { host, port } = t.central.address()!;
    const stream = await fetch(`http://${host}:${port}/api/events`);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const reader = stream.body!.getReader();
    let received = '';
    const until = async (text: string) => {
      const deadline = Date.now() + 20_000;
      while (!received.includes(text) && Date.now() < deadline) {
        const { value, done } = await Promise.race([reader.read(), new Promise<{ value: undefined; done: boolean }>((r) => setTimeout(() => r({ value: undefined, done: false }), 500))]);
        if (done) break;
        if (value) received += new TextDecoder().decode(value);
      }
      return received.includes(text);
    };

    // The device's detectors (those whose bins it sent) carry their open health alerts onto its fleet row.
    await t.store.analytics.saveAlerts([{ v: 1, alert_id: 'detector_health:stuck_on:api-s1-l2:x', kind: 'detector_health', rule: 'stuck_on', key: 'api-s1-l2', state: 'open', severity: 'warning', opened_ms: T0, closed_ms: null, window_start_ms: T0, window_revision: 0, detail: 'occupancy 99 %' }], T0);
    // One board reports its remote configuration (with a refused device document) and a rolled-back update; the
    // other is an agent from before those reports.
    const config = { applied_hash: 'sha256:0123456789abcdef', versions: { fleet: 3, site: 2, device: null }, refused: { scope: 'device' as const, version: 4, reason: 'inputs.0.url: must be a URL', ts_ms: T0 + 38 * MIN } };
    const update = { state: 'rolled_back' as const, version: '0.3.0', reason: 'no heartbeat acknowledged within 120 s', ts_ms: T0 + 37 * MIN };
    const producer = await env.log.producer();
    await producer.send(topics.health, [
      {
        key: 'api-agent-api-s1',
        value: encode(heartbeat('api-agent-api-s1', T0 + 39 * MIN, { config, update }, { state: 'degraded', breaker: 'open', breaker_transitions: { open: 3, half_open: 2, closed: 1 } })),
        headers: { type: 'heartbeat' },
      },
      { key: 'api-agent-api-s2', value: encode(heartbeat('api-agent-api-s2', T0 + 39 * MIN)), headers: { type: 'heartbeat' } },
    ]);
    await producer.close();
    expect(await until('event: fleet')).toBe(true);
    await waitProcessed(t, topics.health, 2);

    const fleet = await get(t, '/api/fleet');
    expect(fleet.body.devices).toEqual([
      expect.objectContaining({
        device_id: 'api-agent-api-s1', version: '0.1.0', outbox_depth: 7, temperature_c: 48.5, clock_synced: true, heartbeat_age_s: 60,
        inputs: [expect.objectContaining({ name: 'feed', state: 'degraded', breaker: 'open', breaker_transitions: { open: 3, half_open: 2, closed: 1 } })],
        detectors: 2, detector_health: [{ detector_id: 'api-s1-l2', rule: 'stuck_on', since_ms: T0 }],
        config, update,
      }),
      expect.objectContaining({ device_id: 'api-agent-api-s2', version: '0.1.0', detectors: 2, detector_health: [], config: null, update: null }),
    ]);
    // The OpenAPI document explains the new fields.
    const doc = await get(t, '/openapi.json');
    const device = doc.body.paths['/api/fleet'].get.responses[200].content['application/json'].schema.properties.devices.items;
    expect(device.properties.config.description).toContain('applied hash');
    expect(JSON.stringify(device.properties.config)).toContain('the latest document it refused');
    expect(device.properties.update.description).toContain('software updates');
    // And Prometheus: the refusal per device (none for the board that does not report it), boards by update state.
    const metrics = await get(t, '/metrics');
    expect(metrics.body).toContain('wacoflow_fleet_device_config_refused{device_id="api-agent-api-s1"} 1');
    expect(metrics.body).not.toContain('wacoflow_fleet_device_config_refused{device_id="api-agent-api-s2"}');
    expect(metrics.body).toContain('wacoflow_fleet_devices_by_update_state{state="rolled_back"} 1');
    expect(metrics.body).toContain('wacoflow_fleet_devices_by_update_state{state="installed"} 0');
    // Each input's breaker: its state, and its transitions where the agent reports them.
    expect(metrics.body).toContain('wacoflow_fleet_input_breaker_state{device_id="api-agent-api-s1",input="feed",state="open"} 1');
    expect(metrics.body).toContain('wacoflow_fleet_input_breaker_state{device_id="api-agent-api-s1",input="feed",state="closed"} 0');
    expect(metrics.body).toContain('wacoflow_fleet_input_breaker_state{device_id="api-agent-api-s2",input="feed",state="closed"} 1');
    expect(metrics.body).toContain('wacoflow_fleet_input_breaker_transitions_total{device_id="api-agent-api-s1",input="feed",to="half_open"} 2');
    expect(metrics.body).not.toContain('wacoflow_fleet_input_breaker_transitions_total{device_id="api-agent-api-s2"');

    // A late bin for a final window: its revision arrives as a 'window' event.
    await produceBins(env.log, topics.bins, [{ ...bins(1)[0]!, seq: 99_999 }]);
    expect(await until('"revision":1')).toBe(true);
    expect(received).toMatch(/event: window\ndata: \{.*"key":"api-s1-l1".*"state":"revised"/);
    await reader.cancel();
  }, 60_000);
});
