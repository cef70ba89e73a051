/**
 * Reads Prometheus text exposition (what GET /metrics serves) into samples a demo can ask about. Only what a
 * scrape of WacoFlow holds: `name{label="value",...} number` lines; comments and blank lines are skipped.
 */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export class Metrics {
  readonly samples: MetricSample[];

  constructor(text: string) {
    this.samples = [];
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const m = LINE.exec(line);
      if (!m) continue;
      const labels: Record<string, string> = {};
      for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k!] = v!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      this.samples.push({ name: m[1]!, labels, value: Number(m[3]) });
    }
  }

  /** The samples of one metric whose labels include `match`. */
  select(name: string, match: Record<string, string> = {}): MetricSample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  }

  /** The sum over the selected samples; null when there are none. */
  sum(name: string, match: Record<string, string> = {}): number | null {
    const found = this.select(name, match);
    return found.length === 0 ? null : found.reduce((a, s) => a + s.value, 0);
  }

  /** Metric names present (histograms by their base name). */
  families(): Set<string> {
    return new Set(this.samples.map((s) => s.name.replace(/_(bucket|sum|count)$/, '')));
  }
}
