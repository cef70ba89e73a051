/**
 * The harness's judge: its reference fold must agree with central's fold on the same bins, and must notice a
 * bin counted twice or a clock-skewed bin left unflagged. If the judge were wrong, every chaos row could pass.
 */
import { describe, expect, it } from 'vitest';
import { corridorRow, foldBins } from '../central/windows/fold.ts';
import type { Bin } from '../protocol/index.ts';
import { draftsFor, expectedWindows, layout, sameMeasures, skewAt, type Layout, type WindowKey } from './workload.ts';

function accepted(l: Layout): Bin[] {
  let seq = 0;
  return l.agents.flatMap((a) =>
    Array.from({ length: l.minutes }, (_, m) => m).flatMap((m) =>
      draftsFor(l, a, m).map((d) => ({ ...d, device_id: a.device_id, seq: ++seq, clock: { synced: skewAt(a, m) === 0, offset_ms: skewAt(a, m) } })),
    ),
  );
}

/** Central's own fold of the same bins, keyed like the reference. */
function central(l: Layout, bins: Bin[]): Map<WindowKey, { measures: Bin['measures']; clock_untrusted: boolean }> {
  const rows = foldBins(new Map(), bins, { now_ms: 0 });
  const out = new Map<WindowKey, { measures: Bin['measures']; clock_untrusted: boolean }>();
  for (const r of rows) out.set(`${r.level}/${r.key}/${r.window_start_ms}`, r);
  for (const corridor of new Set(l.agents.flatMap((a) => a.stations.map((s) => s.corridor_id)))) {
    const members = new Set(l.agents.flatMap((a) => a.stations.filter((s) => s.corridor_id === corridor).map((s) => s.station_id)));
    for (const start of new Set(rows.map((r) => r.window_start_ms))) {
      const stationRows = rows.filter((r) => r.level === 'station' && members.has(r.key) && r.window_start_ms === start);
      if (stationRows.length > 0) out.set(`corridor/${corridor}/${start}`, corridorRow(corridor, start, stationRows, undefined, { now_ms: 0 }));
    }
  }
  return out;
}

const small = (): Layout => layout('t', { agents: 3, stations_per_agent: 2, lanes: 2, minutes: 17 }, 7, Date.UTC(2026, 10, 28, 12));

describe('chaos workload and judge', () => {
  it("agrees with central's fold on every detector, station and corridor window", () => {
    const l = small();
    const bins = accepted(l);
    const expected = expectedWindows(l, bins);
    const folded = central(l, bins);
    expect([...folded.keys()].sort()).toEqual([...expected.keys()].sort());
    // 12 detectors + 6 stations + 2 corridors, over 17 minutes = 4 windows (the last one partial).
    expect(expected.size).toBe((12 + 6 + 2) * 4);
    for (const [k, e] of expected) expect(sameMeasures(folded.get(k)!.measures, e.measures), k).toBe(true);
  });

  it('notices a bin counted twice', () => {
    const l = small();
    const bins = accepted(l);
    const expected = expectedWindows(l, bins);
    const folded = central(l, [...bins, bins[5]!]);
    const wrong = [...expected].filter(([k, e]) => !sameMeasures(folded.get(k)!.measures, e.measures)).map(([k]) => k.split('/')[0]);
    expect(wrong.sort()).toEqual(['corridor', 'detector', 'station']);
  });

  it('generates the same workload from the same seed, and another from another', () => {
    const a = accepted(small());
    expect(accepted(small())).toEqual(a);
    const other = layout('t', { agents: 3, stations_per_agent: 2, lanes: 2, minutes: 17 }, 8, Date.UTC(2026, 10, 28, 12));
    expect(accepted(other).map((b) => b.measures.volume)).not.toEqual(a.map((b) => b.measures.volume));
  });

  it('shifts and flags the bins of a skewed clock, and the reference marks their windows', () => {
    const l = small();
    l.agents[0]!.skew = [{ from: 5, to: 10, offset_ms: 3_600_000 }];
    const bins = accepted(l);
    const skewed = bins.filter((b) => !b.clock.synced);
    expect(skewed).toHaveLength(5 * 4);
    expect(skewed.every((b) => b.bin_start_ms >= l.t0_ms + 3_600_000)).toBe(true);
    const expected = expectedWindows(l, bins);
    const flagged = [...expected].filter(([, w]) => w.clock_untrusted).map(([k]) => k);
    expect(flagged.length).toBeGreaterThan(0);
    const folded = central(l, bins);
    for (const k of flagged) expect(folded.get(k)!.clock_untrusted, k).toBe(true);
  });
});
