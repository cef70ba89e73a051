/**
 * Liveness and readiness, as an orchestrator asks them: `ok`, and what was checked. Live means a restart would
 * not help (the process works, whatever it waits for); ready means it can do its work now, so traffic may come.
 */
export interface Probe {
  ok: boolean;
  checks: Record<string, string>;
}

/** The JSON a probe endpoint answers with, beside 200 (ok) or 503. */
export function probeBody(p: Probe): { status: 'ok' | 'failing'; checks: Record<string, string> } {
  return { status: p.ok ? 'ok' : 'failing', checks: p.checks };
}
