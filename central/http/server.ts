/**
 * Central's HTTP API (Fastify): the only file that imports fastify. Read-only views; binds to localhost unless
 * configured otherwise.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Station, WindowResult } from '../../protocol/index.ts';

export interface StationView extends Station {
  /** The newest window, usually still provisional. */
  current: WindowResult | null;
  /** The newest window that is final (or revised). */
  last_final: WindowResult | null;
  /** The last five minutes up to the station's latest data, refreshed every minute. */
  rolling: WindowResult | null;
}

export interface ApiSource {
  health(): Promise<{ status: 'ok' | 'degraded'; checks: Record<string, string> }>;
  stations(): Promise<StationView[]>;
  now(): number;
}

export interface HttpOptions {
  version: string;
  registry: Registry;
  source: ApiSource;
}

export function buildHttp(options: HttpOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  const started = Date.now();

  app.get('/api/health', async (_req, reply) => {
    const h = await options.source.health();
    reply.code(h.status === 'ok' ? 200 : 503);
    return { status: h.status, version: options.version, uptime_s: (Date.now() - started) / 1000, now_ms: options.source.now(), checks: h.checks };
  });

  app.get('/api/stations', async () => {
    const stations = await options.source.stations();
    return { generated_ms: options.source.now(), count: stations.length, stations };
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', options.registry.contentType);
    return options.registry.metrics();
  });

  return app;
}
