/**
 * Edge-agent figures: outbox appends with group commit, backlog drain to a local gateway, TMDD parse speed, and
 * the RSS and CPU of a real agent process polling 64 detectors. Prints Markdown; never gates CI.
 *
 *   npm run bench:agent
 *   WACOFLOW_BENCH_ONLY=process …   (stages: parse, parse-bundle, append, drain, process)
 *   WACOFLOW_BENCH_NODE_FLAGS='--flag …' adds Node flags to the agent process's own (its bundle's first line)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Registry } from 'prom-client';
import { expecting, KAFKA_TOPICS, type Station } from '../protocol/index.ts';
import { buildAgent } from '../edge-agent/app.ts';
import { AgentConfigSchema } from '../edge-agent/config.ts';
import { parseDetectorData } from '../edge-agent/inputs/tmdd-http/parse.ts';
import { DEFAULT_OUTBOX, FileOutbox } from '../edge-agent/outbox/file-outbox.ts';
import type { BinDraft } from '../edge-agent/aggregate/binner.ts';
import { buildGateway } from '../gateway/app.ts';
import { hashSecret, MemoryDeviceRegistry } from '../gateway/registry/devices.ts';
import { systemClock } from '../platform/clock.ts';
import { MemoryLog } from '../platform/log/memory-log.ts';
import { buildAgentScript, NODE_FLAGS } from '../hardware/bundle/agent-script.ts';
import { buildFeedServer } from '../simulators/tmdd-feed/server.ts';
import { detectorDataMsg } from '../simulators/tmdd-feed/xml.ts';
import { TrafficModel } from '../simulators/traffic-model.ts';

const T0 = Date.UTC(2026, 10, 24, 23, 0, 0);
const stamp = { device_id: 'bench', clock: { synced: true, offset_ms: 0 } };
const draft = (i: number): BinDraft => ({ detector_id: `d${i % 64}`, station_id: `s${i % 16}`, bin_start_ms: T0 + Math.floor(i / 64) * 60_000, bin_ms: 60_000, measures: { ...expecting(3), volume: i % 40, samples_seen: 3 } });
const rows: [string, string, string][] = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function appendRate(label: string, total: number, batch: number, writers: number): Promise<void> {
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const box = await FileOutbox.open({ ...DEFAULT_OUTBOX, dir: mkdtempSync(join(tmpdir(), 'wf-bench-')), max_bytes: 1024 * 1024 * 1024 }, () => T0);
    let next = 0;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (next < total) {
          const from = next;
          next += batch;
          await box.append(Array.from({ length: batch }, (_, i) => draft(from + i)), stamp);
        }
      }),
    );
    runs.push((total / (performance.now() - t)) * 1000);
    await box.close();
  }
  rows.push([`outbox append, fsync group, ${label}`, `${Math.round(median(runs)).toLocaleString('en-US')} bins/s`, '≥ 20,000 bins/s']);
}

async function drainRate(total: number): Promise<void> {
  const log = new MemoryLog();
  await log.ensureTopics(Object.values(KAFKA_TOPICS).map((name) => ({ name, partitions: 3 })));
  const registry = new MemoryDeviceRegistry();
  registry.add({ device_id: 'bench', site: 'waco', enabled: true, secret_hash: await hashSecret('pw') });
  const logger = pino({ level: 'silent' });
  const gateway = buildGateway({ mqtt_host: '127.0.0.1', mqtt_port: 0 }, { log, registry, clock: systemClock, logger, metrics: new Registry() });
  await gateway.start();
  const box = await FileOutbox.open({ ...DEFAULT_OUTBOX, dir: mkdtempSync(join(tmpdir(), 'wf-bench-')), max_bytes: 1024 * 1024 * 1024 }, () => T0);
  for (let i = 0; i < total; i += 1_000) await box.append(Array.from({ length: 1_000 }, (_, j) => draft(i + j)), stamp);
  const agent = buildAgent(
    AgentConfigSchema.parse({ device_id: 'bench', site: 'waco', mqtt_url: gateway.url(), mqtt_password: 'pw', backlog_bins_per_s: null, inputs: [{ driver: 'tmdd-http', name: 'none', url: 'http://127.0.0.1:9/x' }] }),
    { clock: systemClock, logger, outbox: box, probe: { cpu_pct: () => 0, mem_rss_bytes: () => 0, temperature_c: async () => null, disk_free_bytes: async () => null }, clockState: () => stamp.clock, version: 'bench', config_hash: 'bench' },
  );
  const t = performance.now();
  agent.start();
  while (box.stats(T0).depth > 0) await new Promise((r) => setTimeout(r, 20));
  const rate = (total / (performance.now() - t)) * 1000;
  await agent.stop();
  await gateway.stop();
  rows.push([`backlog drain to the local gateway (${total.toLocaleString('en-US')} bins, 200 per message, 4 in flight)`, `${Math.round(rate).toLocaleString('en-US')} bins/s`, '≥ 10,000 bins/s']);
}

function parseRate(): void {
  const model = new TrafficModel('bench');
  const station: Station = { station_id: 'bench-st', name: 'b', kind: 'freeway', corridor_id: null, lat: 0, lon: 0, lanes: 4, free_flow_kmh: 113 };
  const lanes = Array.from({ length: 5_000 }, (_, i) => model.laneInterval(station, (i % 4) + 1, T0 + Math.floor(i / 4) * 20_000, 20_000));
  const xml = detectorDataMsg('bench', lanes, 'America/Chicago');
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    parseDetectorData(xml, { time_zone: 'America/Chicago' });
    runs.push(Buffer.byteLength(xml) / 1e6 / ((performance.now() - t) / 1000));
  }
  const flags = process.env.WACOFLOW_BENCH_PARSE_FLAGS;
  rows.push([`TMDD 3.03 parse (${(Buffer.byteLength(xml) / 1e6).toFixed(1)} MB, 5,000 details)${flags ? `, node ${flags}` : ''}`, `${median(runs).toFixed(1)} MB/s`, '—']);
}

let built: Promise<{ bundle: string; flags: string[] }> | null = null;

/** The agent as its bundle runs it (built once per run, as build-agent builds it): the script and its Node flags. */
function agentBundle(): Promise<{ bundle: string; flags: string[] }> {
  built ??= buildAgentScript(mkdtempSync(join(tmpdir(), 'wf-bench-bundle-')), process.arch === 'arm64' ? 'arm64' : 'x64').then((bundle) => ({ bundle, flags: NODE_FLAGS }));
  return built;
}

/** The same parse in a Node started with the bundle's flags (no optimising compiler): what a board gets. */
async function parseRateWithBundleFlags(): Promise<void> {
  const { flags } = await agentBundle();
  const out = execFileSync(process.execPath, [...flags, ...process.execArgv, fileURLToPath(import.meta.url)], { env: { ...process.env, WACOFLOW_BENCH_ONLY: 'parse', WACOFLOW_BENCH_PARSE_FLAGS: flags.join(' ') } }).toString();
  const row = out.split('\n').find((line) => line.startsWith('| TMDD 3.03 parse'));
  if (!row) throw new Error(`no parse row in the child's output:\n${out}`);
  const [, measure, result, goal] = row.split('|').map((c) => c.trim());
  rows.push([measure!, result!, goal!]);
}

/** A real agent process polling a feed of 64 lane detectors every 20 s: RSS and CPU after `seconds`. */
async function agentProcess(seconds: number): Promise<void> {
  const stations: Station[] = Array.from({ length: 16 }, (_, i) => ({ station_id: `st-${i}`, name: `s${i}`, kind: 'freeway', corridor_id: null, lat: 31.5, lon: -97.1, lanes: 4, free_flow_kmh: 113 }));
  const feed = buildFeedServer({ feeds: [{ feed_id: 'f', organization_id: 'o', station_ids: stations.map((s) => s.station_id) }], stations, model: new TrafficModel('rss'), clock: systemClock, interval_ms: 20_000, history_intervals: 3, time_zone: 'America/Chicago', host: '127.0.0.1', port: 0 });
  await feed.start();
  const log = new MemoryLog();
  await log.ensureTopics(Object.values(KAFKA_TOPICS).map((name) => ({ name, partitions: 1 })));
  const registry = new MemoryDeviceRegistry();
  registry.add({ device_id: 'rss', site: 'waco', enabled: true, secret_hash: await hashSecret('pw') });
  const gateway = buildGateway({ mqtt_host: '127.0.0.1', mqtt_port: 0 }, { log, registry, clock: systemClock, logger: pino({ level: 'silent' }), metrics: new Registry() });
  await gateway.start();
  const dir = mkdtempSync(join(tmpdir(), 'wf-rss-'));
  writeFileSync(join(dir, 'agent.yaml'), [
    'device_id: rss', 'site: waco', `mqtt_url: ${gateway.url()}`, 'mqtt_password: pw', `data_dir: ${dir}`, 'inputs:',
    '  - driver: tmdd-http', '    name: f', `    url: ${feed.feedUrl('f')}/detectorDataMsg`, '    poll_interval_ms: 20000',
  ].join('\n'));
  // The bundle, started as its first line says (`#!/usr/bin/env -S node <flags>`), with this process's Node.
  const { bundle, flags: shebangFlags } = await agentBundle();
  const extraFlags = (process.env.WACOFLOW_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...shebangFlags, ...extraFlags, bundle, '-c', join(dir, 'agent.yaml'), '--log-level', 'warn'], { stdio: 'ignore' });
  const stat = () => {
    const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    const rss = Number(readFileSync(`/proc/${child.pid}/statm`, 'utf8').split(' ')[1]) * 4096;
    return { cpu_s: ticks / 100, rss };
  };
  await new Promise((r) => setTimeout(r, 10_000)); // past start-up
  const a = stat();
  const rss: number[] = [];
  for (let t = 0; t < seconds; t += 5) {
    await new Promise((r) => setTimeout(r, 5_000));
    rss.push(stat().rss);
    if (process.env.WACOFLOW_BENCH_TRACE) console.error(`${t + 5} s: ${(rss.at(-1)! / 1048576).toFixed(1)} MB`);
  }
  const b = stat();
  // Where the resident pages are: anonymous (heap, malloc, stacks) or file-backed (mostly the node binary).
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  child.kill('SIGTERM');
  await gateway.stop();
  await feed.stop();
  const samples = 64 * (seconds / 20);
  rows.push([`agent process RSS, 64 detectors polled every 20 s (median over ${seconds} s)`, `${(median(rss) / 1024 / 1024).toFixed(1)} MB`, '≤ 60 MB']);
  rows.push(['of which anonymous · file-backed (at the end)', `${(kb('RssAnon') / 1024).toFixed(1)} · ${(kb('RssFile') / 1024).toFixed(1)} MB`, '—']);
  rows.push([`agent process CPU per 1,000 samples (polling, parsing, binning, sending)`, `${(((b.cpu_s - a.cpu_s) / samples) * 1000 * 1000).toFixed(0)} ms`, '—']);
}

const only = (process.env.WACOFLOW_BENCH_ONLY ?? '').split(',').filter(Boolean);
const want = (stage: string) => only.length === 0 || only.includes(stage);
if (want('parse')) parseRate();
if (want('parse-bundle')) await parseRateWithBundleFlags();
if (want('append')) {
  await appendRate('1 bin per append, 1 writer', 2_000, 1, 1);
  await appendRate('64 bins per append, 1 writer', 64_000, 64, 1);
  await appendRate('1 bin per append, 16 concurrent writers', 8_000, 1, 16);
}
if (want('drain')) await drainRate(50_000);
if (want('process')) await agentProcess(Number(process.env.WACOFLOW_BENCH_SECONDS ?? 120));

console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${new Date().toISOString().slice(0, 10)}, medians\n`);
console.log('| measure | result | goal |');
console.log('|---|---:|---|');
for (const [m, r, g] of rows) console.log(`| ${m} | ${r} | ${g} |`);
process.exit(0);
