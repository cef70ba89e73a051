/**
 * The SUMO layout of the Waco network, and the net file built from it: every station and approach has loops on
 * a lane that exists, routes run along connected edges and share out each entry's vehicles, and the committed
 * `waco.net.xml` is what netconvert builds from network.yaml today.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { wacoNetwork } from '../waco/network.ts';
import { sumoLayout, turnType } from './layout.ts';
import { buildNetFile, laneLengths, NET_FILE, netconvertVersion, netFileBody, netSummary, sumoAvailable } from './net-file.ts';

const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';
const net = wacoNetwork();
const layout = sumoLayout(net);
const edges = new Map(layout.edges.map((e) => [e.id, e]));

describe('the Waco network laid out for SUMO', () => {
  it('puts every road station on an edge with a loop for each of its lanes', () => {
    expect(layout.stations.map((p) => p.station_id).sort()).toEqual(net.stations.map((s) => s.station_id).sort());
    for (const p of layout.stations) {
      const station = net.stations.find((s) => s.station_id === p.station_id)!;
      expect(p.lanes, p.station_id).toBe(station.lanes);
      expect(edges.get(p.edge)!.lanes, p.station_id).toBeGreaterThanOrEqual(p.lanes);
    }
  });

  it('gives every intersection approach an edge into its stop line, and a road approach its road station’s edge', () => {
    expect(layout.arms.map((a) => a.station_id).sort()).toEqual(net.approachStations.map((s) => s.station_id).sort());
    for (const x of net.intersections) {
      for (const a of x.approaches) {
        const arm = layout.arms.find((r) => r.station_id === a.station_id)!;
        const inEdge = edges.get(arm.in_edge)!;
        const outEdge = edges.get(arm.out_edge)!;
        expect(inEdge.to, a.station_id).toBe(outEdge.from); // both at the intersection's node
        if (a.linked_station_id) expect(arm.in_edge).toBe(layout.stations.find((p) => p.station_id === a.linked_station_id)!.edge);
      }
    }
  });

  it('routes vehicles along connected edges, sharing out each entry exactly, turning at most once', () => {
    for (const r of layout.routes) {
      for (let i = 1; i < r.edges.length; i++) expect(edges.get(r.edges[i - 1]!)!.to, r.id).toBe(edges.get(r.edges[i]!)!.from);
      if (r.vtype !== 'car') {
        // The turn its type names happens on the route: from the arm's edge into the stop line, onto another arm.
        const arm = layout.arms.find((a) => [turnType(a, 'L'), turnType(a, 'R')].includes(r.vtype))!;
        const at = r.edges.indexOf(arm.in_edge);
        expect(at, r.id).toBeGreaterThanOrEqual(0);
        expect(layout.arms.some((b) => b.intersection_id === arm.intersection_id && b.out_edge === r.edges[at + 1])).toBe(true);
      }
    }
    for (const e of layout.entries) {
      const shares = layout.routes.filter((r) => r.entry === e.id).reduce((sum, r) => sum + r.share, 0);
      expect(shares, e.id).toBeCloseTo(1, 9);
    }
    // Every intersection sees turning traffic from every approach.
    for (const a of layout.arms) expect(layout.routes.some((r) => r.vtype === turnType(a, 'L') || r.vtype === turnType(a, 'R')), a.station_id).toBe(true);
  });

  it('refuses a network whose intersection links stations of two different sites', () => {
    const [x, ...others] = net.intersections.filter((i) => i.approaches.some((a) => a.linked_station_id));
    const other = others.find((o) => o.approaches.some((a) => a.linked_station_id))!;
    const broken = {
      ...net,
      intersections: [{ ...x!, approaches: x!.approaches.map((a, i) => (i === 0 && a.linked_station_id ? { ...a, linked_station_id: other.approaches.find((b) => b.linked_station_id)!.linked_station_id } : a)) }],
    };
    expect(() => sumoLayout(broken)).toThrow(`intersection ${x!.intersection_id}: its linked approaches are not at one site`);
  });
});

describe.skipIf(!sumoAvailable() && !required)('the committed SUMO network (simulators/sumo/waco.net.xml)', () => {
  it('is what netconvert builds from network.yaml (npm run sumo:network rebuilds it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-net-test-'));
    try {
      await buildNetFile(layout, join(dir, 'waco.net.xml'));
      const built = readFileSync(join(dir, 'waco.net.xml'), 'utf8');
      const committed = readFileSync(NET_FILE, 'utf8');
      expect(netSummary(built)).toEqual(netSummary(committed));
      // Byte for byte (but the header) when this is the netconvert version that built the committed file.
      if (netconvertVersion(built) === netconvertVersion(committed)) expect(netFileBody(built)).toBe(netFileBody(committed));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('has every lane the loops are placed on, long enough to hold them', () => {
    const lanes = laneLengths(readFileSync(NET_FILE, 'utf8'));
    for (const p of layout.stations) for (let i = 0; i < p.lanes; i++) expect(lanes.get(`${p.edge}_${i}`), `${p.station_id} lane ${i + 1}`).toBeGreaterThan(60);
    for (const a of layout.arms) for (let i = 0; i < a.lanes; i++) expect(lanes.get(`${a.in_edge}_${i}`), `${a.station_id} lane ${i + 1}`).toBeGreaterThan(40);
  });
});
