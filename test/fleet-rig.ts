/**
 * A small distributed system in one test process, for tests that run real agent processes against it: a gateway
 * (devices and an operator registered) and central with its HTTP API, sharing the in-process log with PGlite,
 * topics of their own, and simulated TMDD feeds for the agents to poll.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { backends, ownTopics, startCentral, type TestCentral } from '../central/testing.ts';
import { buildGateway, type Gateway } from '../gateway/app.ts';
import { hashSecret, MemoryDeviceRegistry } from '../gateway/registry/devices.ts';
import type { Log } from '../platform/log/log.ts';
import { systemClock } from '../platform/clock.ts';
import { buildFeedServer } from '../simulators/tmdd-feed/server.ts';
import { TrafficModel } from '../simulators/traffic-model.ts';
import { CORE_FEEDS, CORE_STATIONS } from '../simulators/waco/core.ts';
import type { TopicSet } from '../protocol/index.ts';

export const OPERATOR = { id: 'ops-console', secret: 'operator-secret' };

export interface FleetRig {
  log: Log;
  topics: TopicSet & { prefix: string };
  gateway: Gateway;
  central: TestCentral;
  feedUrl(feed: string): string;
  /** GET a path of central's API, as JSON. */
  api<T>(path: string): Promise<T>;
  /** Writes the operator's secret to `dir` and returns the CLI options that connect as the operator. */
  operatorArgs(dir: string): string[];
  close(): Promise<void>;
}

export async function fleetRig(devices: { device_id: string; secret: string }[]): Promise<FleetRig> {
  const env = await backends()[0]!.open();
  const topics = ownTopics();
  const central = await startCentral(env, { clock: systemClock, stations: CORE_STATIONS, topics });
  const registry = new MemoryDeviceRegistry();
  for (const d of devices) registry.add({ device_id: d.device_id, site: 'waco', enabled: true, secret_hash: await hashSecret(d.secret) });
  registry.add({ device_id: OPERATOR.id, site: 'waco', enabled: true, role: 'operator', secret_hash: await hashSecret(OPERATOR.secret) });
  const gateway = buildGateway({ mqtt_host: '127.0.0.1', mqtt_port: 0, topic_prefix: topics.prefix }, { log: env.log, registry, clock: systemClock, logger: pino({ level: 'silent' }), metrics: new Registry() });
  await gateway.start();
  const feed = buildFeedServer({
    feeds: CORE_FEEDS, stations: CORE_STATIONS, model: new TrafficModel('fleet-rig'), clock: systemClock, interval_ms: 20_000,
    history_intervals: 3, time_zone: 'America/Chicago', host: '127.0.0.1', port: 0,
  });
  await feed.start();
  const http = central.central.address()!;
  return {
    log: env.log, topics, gateway, central,
    feedUrl: (f) => `${feed.feedUrl(f)}/detectorDataMsg`,
    api: async <T>(path: string) => (await (await fetch(`http://${http.host}:${http.port}${path}`)).json()) as T,
    operatorArgs: (dir) => {
      writeFileSync(join(dir, 'operator-secret'), OPERATOR.secret);
      return ['--gateway', gateway.url(), '--operator', OPERATOR.id, '--password-file', join(dir, 'operator-secret')];
    },
    close: async () => {
      await feed.stop();
      await gateway.stop();
      await central.central.stop();
      await env.close();
    },
  };
}

/** Polls `probe` until it returns a value, or fails naming `what`. */
export async function eventually<T>(probe: () => Promise<T | null | undefined | false>, what: string, timeout_ms = 60_000): Promise<T> {
  const end = Date.now() + timeout_ms;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeout_ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
