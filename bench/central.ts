/**
 * Central figures, side by side in one run: bins per second from the log into PostgreSQL (real Kafka and real
 * PostgreSQL; and the in-process log with PGlite), the latency of a provisional window update after a bin is
 * produced, and how long after close + grace a window is emitted as final. Prints Markdown; never gates CI.
 *
 *   npm run services -- up && WACOFLOW_KAFKA_BROKERS=127.0.0.1:9092 WACOFLOW_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:central
 *   WACOFLOW_BENCH_ONLY=throughput …   (stages: reference, throughput, scale-out, update latency, final delay, profile)
 *   WACOFLOW_BENCH_BACKENDS=kafka …     (backends: kafka, embedded)
 *   WACOFLOW_BENCH_LOG=warn …           (central's own log at that level, on stdout; silent by default)
 *
 * The profile stage (Kafka only, not in the default run) repeats the throughput stage under V8's sampling
 * profiler and charges central's CPU to the steps of its data path (bench/cpu-profile.ts, CENTRAL_STEPS). When
 * the database has the pg_stat_statements extension loaded (shared_preload_libraries), it also gives
 * PostgreSQL's time per statement. WACOFLOW_BENCH_PROFILE_FILE=central.cpuprofile keeps the profile.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { Session } from 'node:inspector/promises';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { buildCentral, type Central } from '../central/app.ts';
import { CentralConfigSchema } from '../central/config.ts';
import { openPostgres } from '../central/store/pg-driver.ts';
import { openPglite } from '../central/store/pglite-driver.ts';
import type { SqlDriver } from '../central/store/sql.ts';
import { Store } from '../central/store/store.ts';
import { withSchema } from '../central/store/test-schema.ts';
import { produceBins } from '../central/testing.ts';
import { cpuBy, CENTRAL_STEPS, type CpuProfile } from './cpu-profile.ts';
import { cpuNow, cpuSince, localKafkaPid, postmasterOf, reapedSeconds, type CpuSeconds, type CpuSources } from '../platform/process-cpu.ts';
import { scaledClock, systemClock, type Clock } from '../platform/clock.ts';
import { KafkaLog } from '../platform/log/kafka-log.ts';
import type { Log } from '../platform/log/log.ts';
import { MemoryLog } from '../platform/log/memory-log.ts';
import { alignDown, binRecords, expecting, kafkaTopics, WINDOW_MS, type Bin, type Station, type WindowResult } from '../protocol/index.ts';

const ROOT = join(import.meta.dirname, '..');
const BROKERS = process.env.WACOFLOW_KAFKA_BROKERS;
const DATABASE = process.env.WACOFLOW_DATABASE_URL;
const STATIONS = 100;
const LANES = 4;
const rows: [string, string, string][] = [];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const step = (s: string) => process.stderr.write(`[bench] ${s}\n`);

const stations: Station[] = Array.from({ length: STATIONS }, (_, i) => ({
  station_id: `b-s${i}`, name: `s${i}`, kind: 'freeway', corridor_id: `b-c${i % 10}`, lat: 31.5, lon: -97.1, lanes: LANES, free_flow_kmh: 110,
}));

/** Stations one agent reads, as the simulated city's agents do (about ten each). */
const STATIONS_PER_AGENT = 10;

/**
 * `n` minute bins, round-robin over every lane of every station, time advancing a minute per round. Each agent
 * reads STATIONS_PER_AGENT stations and numbers its bins without gaps; produced as agents send a backlog
 * (messages of 200 bins, a record per station of each: central/testing.ts produceBins).
 */
function bins(n: number, t0: number, device = `bench-${randomUUID().slice(0, 6)}`): Bin[] {
  const perAgent = STATIONS_PER_AGENT * LANES;
  return Array.from({ length: n }, (_, i) => {
    const lane = i % (STATIONS * LANES);
    const s = Math.floor(lane / LANES);
    const round = Math.floor(i / (STATIONS * LANES));
    return {
      device_id: `${device}-a${Math.floor(lane / perAgent)}`, seq: round * perAgent + (lane % perAgent) + 1, detector_id: `b-s${s}-l${lane % LANES}`, station_id: `b-s${s}`, bin_start_ms: t0 + Math.floor(i / (STATIONS * LANES)) * 60_000, bin_ms: 60_000,
      clock: { synced: true, offset_ms: 0 },
      measures: { ...expecting(3), volume: 20, samples_seen: 3, occupied_ms: 6_000, occupancy_observed_ms: 60_000, speed_weight: 20, speed_sum: 1_900, speed_inverse_sum: 20 / 95, speed_min_kmh: 90, speed_max_kmh: 100 },
    };
  });
}

interface Env {
  log: Log;
  db: SqlDriver;
  /** Local server processes whose CPU time the throughput stages account for. */
  servers: Omit<CpuSources, 'central'>;
  /** The PostgreSQL URL central connects with (a schema of its own), for central processes. */
  database_url: string | null;
  /** The in-process log and PGlite: they run inside central's process, so its CPU time includes theirs. */
  embedded: boolean;
  close(): Promise<void>;
}

async function kafkaEnv(): Promise<Env> {
  const schema = withSchema(DATABASE!);
  const log = new KafkaLog({ brokers: BROKERS!.split(','), client_id: 'bench-central' });
  const database_url = await schema.url();
  const db = await openPostgres(database_url);
  const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const servers = { postgres: postmasterOf(rows[0]!.pid), kafka: localKafkaPid(join(ROOT, '.services', 'kafka-run', 'kafka.pid')) };
  return { log, db, servers, database_url, embedded: false, close: async () => void (await Promise.all([log.close(), db.close()]).then(() => schema.drop())) };
}

async function embeddedEnv(): Promise<Env> {
  const log = new MemoryLog();
  const db = await openPglite();
  return { log, db, servers: { postgres: null, kafka: null }, database_url: null, embedded: true, close: async () => void (await Promise.all([log.close(), db.close()])) };
}

function central(env: Env, clock: Clock, prefix: string, grace_ms = 60_000): { central: Central; store: Store; group: string } {
  const group = `bench-${prefix}`;
  const store = new Store(env.db);
  const c = buildCentral(
    CentralConfigSchema.parse({ group_id: group, topic_prefix: prefix, http_port: 0, grace_ms, partitions: { bins: 6, windows: 6 } }),
    { log: env.log, store, clock, logger: pino({ level: process.env.WACOFLOW_BENCH_LOG ?? 'silent' }), registry: new Registry(), stations, version: 'bench' },
  );
  return { central: c, store, group };
}

async function processed(store: Store, group: string, topic: string): Promise<number> {
  const { rows } = await store.db.query<{ n: string }>('SELECT COALESCE(sum(next_offset), 0)::text AS n FROM consumer_offsets WHERE group_id = $1 AND topic = $2', [group, topic]);
  return Number(rows[0]!.n);
}

/** A topic of its own holding `n` bins, written before any consumer starts. */
async function filledTopic(env: Env, n: number): Promise<{ prefix: string; topic: string; records: number }> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const topic = kafkaTopics(prefix).bins;
  await env.log.ensureTopics([{ name: topic, partitions: 6 }]);
  const records = await produceBins(env.log, topic, bins(n, alignDown(Date.now() - 86_400_000, WINDOW_MS)));
  return { prefix, topic, records };
}

/** Waits until the group has stored the offsets of all `n` records. */
async function drained(label: string, store: Store, group: string, topic: string, n: number): Promise<void> {
  const end = Date.now() + 600_000;
  for (;;) {
    const done = await processed(store, group, topic);
    if (done >= n) return;
    if (Date.now() > end) throw new Error(`${label}: ${done} of ${n} records after 10 minutes`);
    await sleep(20);
  }
}

/** What one bin cost each process on the path, and the rate the machine's cores could sustain at that cost. */
function cpuRow(label: string, bins_counted: number, cpu: CpuSeconds, embedded = false): void {
  const perBin = (s: number | null) => (s === null ? null : (s / bins_counted) * 1e6);
  const parts: [string, number | null][] = embedded
    ? [['central with PGlite and the log in its process', perBin(cpu.central)]]
    : [['central', perBin(cpu.central)], ['PostgreSQL', perBin(cpu.postgres)], ['Kafka', perBin(cpu.kafka)]];
  const known = parts.filter((p): p is [string, number] => p[1] !== null);
  const total = known.reduce((a, p) => a + p[1], 0);
  const shown = parts.map(([name, us]) => `${name} ${us === null ? 'n/a (not local)' : `${us.toFixed(1)} µs`}`).join(', ');
  // Central's work runs on one thread, so for the embedded backend the cores say nothing about its ceiling.
  const ceiling = !embedded && known.length === parts.length ? `; ${total.toFixed(1)} µs in all: ${cpus().length} cores at full use give at most ${fmt((cpus().length * 1e6) / total)} bins/s` : '';
  rows.push([`CPU per bin while consuming, ${label}`, `${shown}${ceiling}`, `≤ ${((cpus().length * 1e6) / 50_000).toFixed(0)} µs in all for 50,000 bins/s here`]);
}

/** From the first stored batch on: the group join and central's first moments left out (see `backlog`). */
interface Steady<F> {
  /** Bins stored after the first batch. */
  bins: number;
  stored_ms: number;
  complete_ms: number;
  measured: F;
}

/**
 * A backlog of `n` day-old bins in the log before central starts, consumed by central in this process. The
 * measurement runs from `begin` (just after start: migrations done, consumer subscribed) to `end`, once every
 * window is final and published; the times are from the same start to the last stored batch and to the end.
 *
 * With `first`, it is also measured from the moment the first batch is stored, as the scale-out stage
 * measures: the consumer group's join (a second or more with Kafka) and the first batch, which a 200,000-bin
 * backlog pays once in a run of a few seconds and a city's hour-long backlog hardly notices, are left out.
 */
async function backlog<B, E, A = unknown, F = unknown>(
  label: string, env: Env, n: number, begin: () => B | Promise<B>, end: (b: B) => E | Promise<E>,
  first?: { at: () => A; since: (at: A) => F },
): Promise<{ stored_ms: number; complete_ms: number; measured: E; steady: Steady<F> | null }> {
  const { prefix, topic, records } = await filledTopic(env, n);
  const c = central(env, systemClock, prefix);
  await c.central.start();
  const b = await begin();
  const t = performance.now();
  let steadyFrom: { t: number; records: number; at: A } | null = null;
  if (first) {
    let done = 0;
    while ((done = await processed(c.store, c.group, topic)) === 0) await sleep(5);
    steadyFrom = { t: performance.now(), records: done, at: first.at() };
  }
  await drained(label, c.store, c.group, topic, records);
  const stored_at = performance.now();
  // The bins are a day old, so every window they touch is due: what is left of their work is finalisation and
  // the final results' publication. Counting it as well gives the rate a backlog of any length sustains.
  while ((await c.central.finalize()).length > 0);
  await c.central.published();
  const complete_at = performance.now();
  const measured = await end(b);
  const steady = first && steadyFrom && steadyFrom.records < records
    ? { bins: ((records - steadyFrom.records) * n) / records, stored_ms: stored_at - steadyFrom.t, complete_ms: complete_at - steadyFrom.t, measured: first.since(steadyFrom.at) }
    : null;
  await c.central.stop();
  return { stored_ms: stored_at - t, complete_ms: complete_at - t, measured, steady };
}

/** Bins in the log before central starts; central runs in this process. */
async function throughput(label: string, env: Env, n: number): Promise<void> {
  // For Kafka the time from start includes the consumer group join, so those figures are a floor of the steady
  // rate; the figures from the first stored batch leave it out.
  const sources = { central: null, ...env.servers };
  const { stored_ms, complete_ms, measured: cpu, steady } = await backlog(label, env, n, () => cpuNow(sources), (cpu0) => cpuSince(cpu0, sources), {
    at: () => cpuNow(sources),
    since: (at) => cpuSince(at, sources),
  });
  rows.push([`log → PostgreSQL, ${label} (${fmt(n)} bins, ${STATIONS} stations × ${LANES} lanes, 6 partitions)`, `${fmt((n / stored_ms) * 1000)} bins/s`, '≥ 50,000 bins/s (Kafka)']);
  rows.push([`the same, until every window is final and published to the windows topic`, `${fmt((n / complete_ms) * 1000)} bins/s`, '≥ 40,000 bins/s (Kafka)']);
  if (reference_rate !== null && !env.embedded) {
    const ratio = (ms: number) => ((n / ms) * 1000 / reference_rate!).toFixed(2);
    rows.push([`central ÷ the reference (kcat → COPY), stored; final and published`, `${ratio(stored_ms)}; ${ratio(complete_ms)}`, '—']);
  }
  cpuRow(`${label}, stored, final and published`, n, cpu, env.embedded);
  if (steady) {
    const rate = (ms: number) => fmt((steady.bins / ms) * 1000);
    rows.push([`the same from the first stored batch on (the group join and start-up left out, as in the scale-out stage; ${fmt(steady.bins)} bins), stored; final and published`, `${rate(steady.stored_ms)}; ${rate(steady.complete_ms)} bins/s`, '—']);
    cpuRow(`${label}, from the first stored batch to final and published`, steady.bins, steady.measured, env.embedded);
  }
}

/** The columns of a bin, as a table: what the reference loads. */
const REFERENCE_TABLES = `
  CREATE TABLE reference_records (doc jsonb NOT NULL);
  CREATE TABLE reference_bins (device_id text, seq bigint, detector_id text, station_id text, bin_start_ms bigint,
    bin_ms int, clock text, measures jsonb)`;

/**
 * The floor any consumer of the bins topic pays: the same backlog read by kcat and loaded into PostgreSQL with
 * COPY, no dedupe and no windows. kcat writes each record's value as a line; psql copies the lines into a
 * staging table (CSV with delimiter and quote bytes that JSON never holds, so a line is taken as it is), and
 * one statement expands each record's bins into rows of a bin's columns. CPU is kcat, psql and the shell
 * (children this process reaped), PostgreSQL and Kafka, over the whole span.
 */
async function reference(label: string, env: Env, n: number): Promise<void> {
  if (!env.database_url) throw new Error('the reference needs PostgreSQL by URL');
  const { topic } = await filledTopic(env, n);
  await env.db.query(REFERENCE_TABLES);
  // libpq reads a space in the URL's options as '+', so the schema's search_path goes by PGOPTIONS.
  const url = new URL(env.database_url);
  const options = url.searchParams.get('options') ?? '';
  url.searchParams.delete('options');
  const psql = `psql ${quote(url.toString())} -v ON_ERROR_STOP=1 -q`;
  const pipeline = [
    `kcat -C -q -e -b ${quote(BROKERS!)} -t ${quote(topic)} -o beginning -f '%s\\n'`,
    `${psql} -c "COPY reference_records (doc) FROM STDIN (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"`,
  ].join(' | ');
  const expand = `INSERT INTO reference_bins SELECT b.* FROM reference_records r, jsonb_populate_recordset(NULL::reference_bins, r.doc->'bins') b`;
  const script = `set -o pipefail; ${pipeline} && ${psql} -c ${quote(expand)}`;
  const sources = { central: [], ...env.servers };
  const cpu0 = cpuNow(sources);
  const piped0 = reapedSeconds();
  const t = performance.now();
  await promisify(execFile)('bash', ['-c', script], { env: { ...process.env, PGOPTIONS: options } });
  const ms = performance.now() - t;
  const cpu = cpuSince(cpu0, sources);
  const { rows: counted } = await env.db.query<{ n: string }>('SELECT count(*)::text AS n FROM reference_bins');
  if (Number(counted[0]!.n) !== n) throw new Error(`reference: loaded ${counted[0]!.n} of ${n} bins`);
  const us = (s: number | null) => (s === null ? 'n/a' : `${((s / n) * 1e6).toFixed(1)} µs`);
  const pipe = reapedSeconds() - piped0;
  const all = [pipe, cpu.postgres, cpu.kafka].every((s) => s !== null) ? ((pipe + cpu.postgres! + cpu.kafka!) / n) * 1e6 : null;
  reference_rate = (n / ms) * 1000;
  rows.push([`reference, ${label}: kcat → COPY → one INSERT … SELECT of the bins (no dedupe, no windows)`, `${fmt(reference_rate)} bins/s`, '—']);
  rows.push([`CPU per bin of the reference`, `kcat, psql and shell ${us(pipe)}, PostgreSQL ${us(cpu.postgres)}, Kafka ${us(cpu.kafka)}${all === null ? '' : `; ${all.toFixed(1)} µs in all`}`, '—']);
}

/** The reference's rate in this run, once measured: the throughput stage reports central's as a ratio of it. */
let reference_rate: number | null = null;

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;


/** What a statement of central's store does, from its text; the text's start when no pattern knows it. */
function statementLabel(query: string): string {
  const q = query.replace(/\s+/g, ' ');
  const known: [RegExp, string][] = [
    // The window write first: it carries the dedupe record's new runs and the side rows (CombinedWrites).
    [/updated AS \( ?UPDATE windows/, 'write windows (update the stored, insert the new), with the new runs and side rows'],
    [/pg_advisory_xact_lock\(\$2, h\)/, 'dedupe: lock device and station pairs'],
    [/WITH doomed AS .* FROM ingested_seqs/, 'dedupe: forget runs past the horizon'],
    [/(DELETE FROM|INSERT INTO) ingested_seqs/, 'dedupe: rewrite runs (no window write to go with)'],
    [/FROM UNNEST.* JOIN ingested_seqs/, 'dedupe: read runs'],
    [/INSERT INTO recent_bins/, 'recent bins (rolling view)'],
    [/INSERT INTO detectors .*'observed'/, 'detectors seen'],
    [/^SELECT .* FROM windows WHERE \(level, key, window_start_ms\) IN .* FOR UPDATE/, 'lock stored windows'],
    [/pg_advisory_xact_lock\(\$2, hashtext\(k\)\)/, 'lock corridor windows (includes waiting)'],
    [/FROM windows WHERE level = \$\d+ AND \(key, window_start_ms\) IN/, 'corridor: read station windows'],
    [/^UPDATE windows AS w SET revision/, 'write windows (raced inserts)'],
    [/INSERT INTO consumer_offsets/, 'store offset'],
    [/^SELECT level, key, window_start_ms FROM windows WHERE state = .* FOR UPDATE/, 'finalise: lock due windows'],
    [/^UPDATE windows SET state = /, 'finalise due windows'],
    [/DELETE FROM windows_to_analyse/, 'windows left for analysis: take'],
    [/WITH keys \(level, key\)/, 'no_data windows'],
    [/^(BEGIN|COMMIT|ROLLBACK)/, 'BEGIN / COMMIT'],
  ];
  for (const [re, label] of known) if (re.test(q)) return label;
  return q.slice(0, 70);
}

/**
 * The throughput stage once more, under V8's sampling profiler (central runs in this process), with central's
 * CPU charged to the steps of its data path; and PostgreSQL's execution time per statement when the database
 * records it (pg_stat_statements).
 */
async function profile(label: string, env: Env, n: number): Promise<void> {
  const statements = await env.db.query('SELECT public.pg_stat_statements_reset()').then(() => true, () => false);
  const session = new Session();
  session.connect();
  const { measured: { used, prof } } = await backlog(
    label, env, n,
    async () => {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
      return process.cpuUsage();
    },
    async (cpu0) => ({ used: process.cpuUsage(cpu0), prof: (await session.post('Profiler.stop')).profile }),
  );
  session.disconnect();
  if (process.env.WACOFLOW_BENCH_PROFILE_FILE) writeFileSync(process.env.WACOFLOW_BENCH_PROFILE_FILE, JSON.stringify(prof));
  const steps = cpuBy(prof as unknown as CpuProfile, CENTRAL_STEPS);
  const sampled = steps.reduce((a, s) => a + s.ms, 0);
  const cpuUs = ((used.user + used.system) / n);
  console.log(`\n#### Central's CPU per bin by step: ${fmt(n)} bins, ${label}, stored, final and published (${cpuUs.toFixed(1)} µs per bin of process CPU; ${fmt(sampled)} ms sampled)\n`);
  console.log('| step | µs per bin | share |\n|---|---:|---:|');
  // The profiler's own overhead inflates every step alike; the figures are scaled to the process's CPU time.
  for (const s of steps) console.log(`| ${s.component} | ${((s.ms / sampled) * cpuUs).toFixed(2)} | ${((s.ms / sampled) * 100).toFixed(1)} % |`);
  if (!statements) {
    console.log('\n(PostgreSQL per statement: pg_stat_statements is not loaded in this database.)');
    return;
  }
  const { rows } = await env.db.query<{ query: string; calls: string; total_ms: number; rows: string }>(
    `SELECT query, calls::text, total_exec_time AS total_ms, rows::text FROM public.pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  const byLabel = new Map<string, { calls: number; ms: number; rows: number }>();
  for (const r of rows) {
    const k = statementLabel(r.query);
    const a = byLabel.get(k) ?? { calls: 0, ms: 0, rows: 0 };
    byLabel.set(k, { calls: a.calls + Number(r.calls), ms: a.ms + r.total_ms, rows: a.rows + Number(r.rows) });
  }
  const total = [...byLabel.values()].reduce((a, s) => a + s.ms, 0);
  console.log(`\n#### PostgreSQL's execution time per bin by statement (pg_stat_statements; ${(total * 1000 / n).toFixed(1)} µs per bin in all)\n`);
  console.log('| statement | calls | rows | µs per bin | share |\n|---|---:|---:|---:|---:|');
  for (const [k, v] of [...byLabel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 14)) {
    console.log(`| ${k.replace(/\|/g, '\\|')} | ${fmt(v.calls)} | ${fmt(v.rows)} | ${((v.ms * 1000) / n).toFixed(2)} | ${((v.ms / total) * 100).toFixed(1)} % |`);
  }
}

/**
 * `wacoflow central` as separate processes in one consumer group, as a deployment scales out: the rate from
 * the moment every instance is ready (bins some took before that are left out) to the last stored batch.
 */
async function scaleOut(label: string, env: Env, n: number, instances: number): Promise<void> {
  if (!env.database_url) throw new Error('scale-out needs PostgreSQL');
  const { prefix, topic, records } = await filledTopic(env, n);
  const group = `bench-${prefix}`;
  // Every record holds the same number of bins (bins()), so records processed convert to bins exactly.
  const binsPerRecord = n / records;
  const dir = mkdtempSync(join(tmpdir(), 'wacoflow-bench-'));
  writeFileSync(join(dir, 'inventory.yaml'), JSON.stringify({
    stations: stations.map((s) => ({ ...s, detectors: Array.from({ length: LANES }, (_, l) => `${s.station_id}-l${l}`) })),
  }));
  writeFileSync(join(dir, 'central.yaml'), JSON.stringify({
    kafka_brokers: BROKERS!.split(','), database_url: env.database_url, inventory_file: 'inventory.yaml', group_id: group,
    topic_prefix: prefix, http_port: 0, grace_ms: 60_000, partitions: { bins: 6, windows: 6 },
  }));
  const procs = Array.from({ length: instances }, () => spawn(process.execPath, [join(ROOT, 'bin', 'wacoflow.js'), 'central', '--config', join(dir, 'central.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] }));
  try {
    await Promise.all(procs.map((p, i) => new Promise<void>((resolve, reject) => {
      let out = '';
      const take = (d: Buffer) => {
        out = (out + d.toString()).slice(-8_000);
        if (out.includes('central ready')) resolve();
      };
      p.stdout!.on('data', take);
      p.stderr!.on('data', take);
      p.once('exit', (code) => reject(new Error(`central ${i} exited (${code}) before it was ready:\n${out}`)));
    })));
    // The clock starts at the first batch stored after every instance is ready, so the group's first join is
    // left out (a later member's join, and the rebalance it causes, are part of scaling out and stay in).
    const store = new Store(env.db);
    const ready = await processed(store, group, topic);
    if (ready >= records) throw new Error(`${label}: all ${fmt(n)} bins were stored before every instance was ready; nothing left to measure`);
    let before = ready;
    while (before === ready) {
      await sleep(5);
      before = await processed(store, group, topic);
    }
    const t = performance.now();
    const sources = { central: procs.map((p) => p.pid!), ...env.servers };
    const cpu0 = cpuNow(sources);
    await drained(label, store, group, topic, records);
    const rate = (((records - before) * binsPerRecord) / (performance.now() - t)) * 1000;
    const cpu = cpuSince(cpu0, sources);
    rows.push([`log → PostgreSQL, ${label}, ${instances} central process${instances === 1 ? '' : 'es'} in one group (${fmt(n)} bins; the ${fmt(before * binsPerRecord)} stored before the first batch after all were ready are left out)`, `${fmt(rate)} bins/s`, '≥ 50,000 bins/s (Kafka)']);
    cpuRow(`${label}, ${instances} central process${instances === 1 ? '' : 'es'}`, (records - before) * binsPerRecord, cpu);
  } finally {
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : (p.once('exit', r), p.kill('SIGTERM'))))));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One bin every 10 ms, each for a detector of its own; latency = produce call → its detector window's event. */
async function updateLatency(label: string, env: Env, count: number): Promise<void> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const topics = kafkaTopics(prefix);
  const c = central(env, systemClock, prefix);
  await c.central.start();
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  c.central.events.on('window', (w: WindowResult) => {
    const t = w.level === 'detector' ? sent.get(w.key) : undefined;
    if (t !== undefined) {
      latencies.push(performance.now() - t);
      sent.delete(w.key);
    }
  });
  const producer = await env.log.producer();
  await sleep(3_000); // the consumer joins its group
  const t0 = alignDown(Date.now(), WINDOW_MS);
  for (let i = 0; i < count; i++) {
    const [b] = bins(1, t0, `lat-${i}`);
    const bin = { ...b!, detector_id: `lat-d${i}` };
    sent.set(bin.detector_id, performance.now());
    void producer.send(topics.bins, binRecords({ v: 1, device_id: bin.device_id, sent_ms: Date.now(), bins: [bin] }));
    await sleep(10);
  }
  const end = Date.now() + 30_000;
  while (sent.size > 0 && Date.now() < end) await sleep(50);
  await producer.close();
  await c.central.stop();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  rows.push([`provisional update after a bin is produced, ${label} (${fmt(latencies.length)} bins at 100/s)`, `p50 ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, max ${q(1).toFixed(1)} ms`, 'p95 ≤ 50 ms']);
}

/** Simulated time at 100×: a window closes every 3 real seconds; delay = final event − (end + grace), in real ms. */
async function finalDelay(label: string, env: Env, windows: number): Promise<void> {
  const speedup = 100;
  const grace_ms = 30_000;
  const clock = scaledClock(speedup, alignDown(Date.now(), WINDOW_MS) + WINDOW_MS - 10_000);
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const topics = kafkaTopics(prefix);
  const c = central(env, clock, prefix, grace_ms);
  await c.central.start();
  const delays: number[] = [];
  c.central.events.on('window', (w: WindowResult) => {
    if (w.level === 'station' && w.key === 'b-s0' && w.state === 'final' && w.status === 'ok') delays.push((clock.now() - (w.window_end_ms + grace_ms)) / speedup);
  });
  const producer = await env.log.producer();
  const first = alignDown(clock.now(), WINDOW_MS) + WINDOW_MS;
  for (let k = 0; k < windows; k++) {
    const start = first + k * WINDOW_MS;
    while (clock.now() < start + 60_000) await sleep(5);
    const [b] = bins(1, start, `fin-${k}`);
    await producer.send(topics.bins, binRecords({ v: 1, device_id: b!.device_id, sent_ms: Date.now(), bins: [b!] }));
  }
  const end = Date.now() + 30_000;
  while (delays.length < windows && Date.now() < end) await sleep(20);
  await producer.close();
  await c.central.stop();
  delays.sort((a, b) => a - b);
  rows.push([`final emission after close + grace, ${label} (${delays.length} windows, simulated time at ${speedup}×)`, `median ${delays[Math.floor(delays.length / 2)]!.toFixed(0)} ms, max ${delays.at(-1)!.toFixed(0)} ms`, '≤ 1 s']);
}

async function main(): Promise<void> {
  if (!BROKERS || !DATABASE) throw new Error('set WACOFLOW_KAFKA_BROKERS and WACOFLOW_DATABASE_URL (npm run services -- up)');
  const only = (process.env.WACOFLOW_BENCH_ONLY ?? '').split(',').filter(Boolean);
  const backends = (process.env.WACOFLOW_BENCH_BACKENDS ?? '').split(',').filter(Boolean);
  for (const [name, label, open] of [['kafka', 'Kafka + PostgreSQL', kafkaEnv], ['embedded', 'in-process log + PGlite', embeddedEnv]] as const) {
    if (backends.length > 0 && !backends.includes(name)) continue;
    for (const [stage, run] of [
      // The reference first, so the throughput stage can give central's rate as a ratio of it.
      ...(name === 'kafka' ? ([['reference', (env: Env) => reference(label, env, 200_000)]] as const) : []),
      ['throughput', (env: Env) => throughput(label, env, 200_000)],
      ...(name === 'kafka' ? ([
        ['scale-out', async (env: Env) => {
          // One process and two, side by side, each on a topic and a schema of its own.
          await scaleOut(label, env, 600_000, 1);
          const second = await open();
          try {
            await scaleOut(label, second, 600_000, 2);
          } finally {
            await second.close();
          }
        }],
      ] as const) : []),
      ['update latency', (env: Env) => updateLatency(label, env, 2_000)],
      ...(name === 'kafka' && only.includes('profile') ? ([['profile', (env: Env) => profile(label, env, 200_000)]] as const) : []),
      ['final delay', (env: Env) => finalDelay(label, env, 8)],
    ] as const) {
      if (only.length > 0 && !only.includes(stage)) continue;
      step(`${stage}, ${label}`);
      const env = await open();
      try {
        await run(env);
      } finally {
        await env.close();
      }
    }
  }
  // The V8 flags central ran with (npm run bench:central gives the deployed ones: deploy/kubernetes/base/central.yaml).
  const flags = process.env.NODE_OPTIONS?.trim() ? `, NODE_OPTIONS ${process.env.NODE_OPTIONS.trim()}` : '';
  console.log(`\n### Central: ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}${flags}\n`);
  console.log('| measure | result | goal |\n|---|---|---|');
  for (const [m, v, g] of rows) console.log(`| ${m} | ${v} | ${g} |`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
