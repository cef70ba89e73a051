/**
 * The gateway's HTTP listener (metrics_port): Prometheus /metrics, the /livez and /readyz probes, and signed
 * agent releases under /releases/ when a releases directory is served.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { probeBody, type Probe } from '../platform/probe.ts';

/** The paths the listener answers, besides /releases/…: what an orchestrator's probes and a scraper may ask. */
export const GATEWAY_HTTP_PATHS = ['/metrics', '/livez', '/readyz'] as const;

export function gatewayHttpHandler(deps: {
  metrics: Registry;
  probe: (kind: 'live' | 'ready') => Probe;
  releases?: (req: IncomingMessage, res: ServerResponse) => boolean;
}): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (deps.releases?.(req, res)) return;
    if (req.url === '/livez' || req.url === '/readyz') {
      const p = deps.probe(req.url === '/livez' ? 'live' : 'ready');
      return void res.writeHead(p.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(probeBody(p)));
    }
    if (req.url !== '/metrics') return void res.writeHead(404).end(`GET ${GATEWAY_HTTP_PATHS.join(', ')}${deps.releases ? ', or /releases/…' : ''}\n`);
    void deps.metrics.metrics().then((body) => res.writeHead(200, { 'content-type': deps.metrics.contentType }).end(body));
  };
}
