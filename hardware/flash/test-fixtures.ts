/** A small agent bundle laid out like `wacoflow build-agent`'s, with a manifest that verifies. For tests only. */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFiles } from '../bundle/manifest.ts';

const UNIT = join(import.meta.dirname, '..', 'systemd', 'wacoflow-agent.service');

export async function makeBundle(arch: 'arm64' | 'x64' = 'arm64', version = '0.1.0'): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'wacoflow-bundle-'));
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'systemd'));
  mkdirSync(join(dir, 'node_modules', 'serialport'), { recursive: true });
  writeFileSync(join(dir, 'wacoflow-agent.mjs'), '#!/usr/bin/env node\nconsole.log("agent");\n');
  writeFileSync(join(dir, 'bin', 'node'), '#!/bin/sh\necho node\n');
  writeFileSync(join(dir, 'node_modules', 'serialport', 'package.json'), '{"name":"serialport"}\n');
  writeFileSync(join(dir, 'wacoflow-launch'), '#!/bin/sh\nexec ./current/bin/node ./current/wacoflow-agent.mjs "$@"\n');
  copyFileSync(UNIT, join(dir, 'systemd', 'wacoflow-agent.service'));
  for (const f of ['bin/node', 'wacoflow-launch', 'wacoflow-agent.mjs']) chmodSync(join(dir, f), 0o755);
  const manifest = {
    v: 1, name: 'wacoflow-agent', version, arch, entry: 'wacoflow-agent.mjs',
    runtime: { node: 'bin/node', node_version: '20.19.6', node_flags: ['--no-opt'] }, built_ms: Date.now(), expires_ms: null, files: await describeFiles(dir),
  };
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return dir;
}

export const INPUTS_YAML = [
  '- driver: ss125-serial', '  name: i35-hd', '  line: { path: /dev/serial0, baud_rate: 9600 }', '  drops: [{ drop: 201, station_id: i35-nb-brazos }]',
  '- driver: tmdd-http', '  name: txdot', '  url: http://10.0.0.5/tmdd/detectorDataMsg',
].join('\n');

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `wacoflow-${prefix}-`));
}
