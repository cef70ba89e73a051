/**
 * Remote configuration documents on a board: fleet, then site, then device on top of the board's own file; a
 * document is applied only if the result is a valid configuration, and refused with the reason otherwise, the
 * board keeping what it ran. Applied documents survive a restart.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encode, type ConfigDocument } from '../../protocol/index.ts';
import { configHash, RemoteConfig } from './remote-config.ts';

const base = {
  device_id: 'pi-1', site: 'waco', mqtt_url: 'mqtt://gw:1883', mqtt_password: 'x', data_dir: '/var/lib/wacoflow',
  inputs: [{ driver: 'tmdd-http', name: 'i35', url: 'http://feed/detectorDataMsg' }],
};

function board(state_file = join(mkdtempSync(join(tmpdir(), 'wacoflow-remote-')), 'remote-config.json')) {
  const r = new RemoteConfig({ base, site: 'waco', device_id: 'pi-1', state_file, now: () => 1_764_835_200_000 });
  return { r, state_file, initial: r.initial };
}

const doc = (scope: ConfigDocument['scope'], version: number, config: Record<string, unknown>): Buffer =>
  encode({ v: 1, scope, target: scope === 'fleet' ? null : scope === 'site' ? 'waco' : 'pi-1', version, config, by: 'ops', ts_ms: 1 } satisfies ConfigDocument);

describe('remote configuration', () => {
  it('applies fleet, then site, then device documents over the file, later scopes winning key by key', () => {
    const { r, initial } = board();
    expect(initial.heartbeat_interval_ms).toBe(30_000);
    expect(r.receive('device', doc('device', 1, { heartbeat_interval_ms: 5_000 }))).toMatchObject({ kind: 'apply', config: { heartbeat_interval_ms: 5_000 } });
    // The fleet's and the site's documents arrive later but sit under the device's.
    expect(r.receive('fleet', doc('fleet', 4, { heartbeat_interval_ms: 60_000, backlog_bins_per_s: 100, reconnect_ms: 9_000 }))).toMatchObject({ kind: 'apply', config: { heartbeat_interval_ms: 5_000, backlog_bins_per_s: 100 } });
    const d = r.receive('site', doc('site', 2, { backlog_bins_per_s: 300 }));
    expect(d).toMatchObject({ kind: 'apply', config: { heartbeat_interval_ms: 5_000, backlog_bins_per_s: 300, reconnect_ms: 9_000, device_id: 'pi-1' } });
    expect(r.report()).toEqual({ applied_hash: (d as { hash: string }).hash, versions: { fleet: 4, site: 2, device: 1 }, refused: null });
    // Withdrawing the device's document (an empty retained message) lets the site's and fleet's show through.
    expect(r.receive('device', Buffer.alloc(0))).toMatchObject({ kind: 'apply', config: { heartbeat_interval_ms: 60_000 } });
  });

  it('does nothing for a document it already applied, as every reconnect delivers it again', () => {
    const { r } = board();
    expect(r.receive('site', doc('site', 2, { backlog_bins_per_s: 300 })).kind).toBe('apply');
    expect(r.receive('site', doc('site', 2, { backlog_bins_per_s: 300 }))).toEqual({ kind: 'same' });
  });

  it.each([
    ['an invalid value', doc('device', 1, { bin_ms: 70_000 }), /^the resulting configuration is invalid: bin_ms: must divide 300000/],
    ['a setting only the board\'s file may hold', doc('device', 1, { mqtt_url: 'mqtt://elsewhere:1883' }), /^mqtt_url cannot be set remotely: it is set only in the board's own file/],
    ['an unknown setting', doc('fleet', 1, { colour: 'red' }), /^colour cannot be set remotely: not an agent setting/],
    ['an input list the agent cannot run', doc('site', 1, { inputs: [{ driver: 'ss999', name: 'x' }] }), /^the resulting configuration is invalid: inputs\.0/],
    ['something that is not a document', Buffer.from('{"bin_ms": 60000}'), /^not a configuration document: /],
  ])('refuses %s, says why, and keeps the configuration it runs', (_name, payload, reason) => {
    const { r } = board();
    const before = r.report();
    const scope = (JSON.parse(payload.toString()) as { scope?: 'fleet' | 'site' | 'device' }).scope ?? 'device';
    const d = r.receive(scope, payload);
    expect(d).toMatchObject({ kind: 'refuse', reason: expect.stringMatching(reason) });
    expect(r.report().applied_hash).toBe(before.applied_hash);
    expect(r.report().refused).toMatchObject({ scope, reason: expect.stringMatching(reason) });
  });

  it('refuses a document for another site or device, and one older than the applied version', () => {
    const { r } = board();
    const other = encode({ v: 1, scope: 'site', target: 'hewitt', version: 1, config: {}, by: 'ops', ts_ms: 1 } satisfies ConfigDocument);
    expect(r.receive('site', other)).toMatchObject({ kind: 'refuse', reason: 'the document is for site hewitt, published on the site topic of waco' });
    r.receive('fleet', doc('fleet', 5, { reconnect_ms: 3_000 }));
    expect(r.receive('fleet', doc('fleet', 4, { reconnect_ms: 4_000 }))).toMatchObject({ kind: 'refuse', reason: 'version 4 is not newer than the applied version 5' });
  });

  it('clears a refusal once a later document applies', () => {
    const { r } = board();
    r.receive('device', doc('device', 1, { bin_ms: 7 }));
    expect(r.report().refused).not.toBeNull();
    r.receive('device', doc('device', 2, { bin_ms: 30_000 }));
    expect(r.report()).toMatchObject({ refused: null, versions: { device: 2 } });
  });

  it('starts after a restart with the documents it had applied', () => {
    const { r, state_file } = board();
    const d = r.receive('site', doc('site', 3, { heartbeat_interval_ms: 12_000 }));
    const again = board(state_file);
    expect(again.initial.heartbeat_interval_ms).toBe(12_000);
    expect(again.r.report()).toMatchObject({ applied_hash: (d as { hash: string }).hash, versions: { site: 3 } });
  });

  it('drops kept documents that no longer fit the board\'s file, rather than refusing to start', () => {
    const { state_file } = board();
    writeFileSync(state_file, JSON.stringify({ device: JSON.parse(doc('device', 1, { close_delay_ms: 1_000 }).toString()) })); // polls every 20 s: invalid
    const again = board(state_file);
    expect(again.initial.close_delay_ms).toBe(30_000);
    expect(again.r.report().versions.device).toBeNull();
  });

  it('hashes equal configurations equally, whatever the order of their keys', () => {
    expect(configHash({ a: 1, b: { c: 2, d: [1, 2] } })).toBe(configHash({ b: { d: [1, 2], c: 2 }, a: 1 }));
    expect(configHash({ a: 1 })).not.toBe(configHash({ a: 2 }));
  });
});
