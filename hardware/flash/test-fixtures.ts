/** A small agent bundle laid out like `wacoflow build-agent`'s, with a manifest that verifies. For tests only. */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureBundle } from '../../test/release-fixtures.ts';

const UNIT = join(import.meta.dirname, '..', 'systemd', 'wacoflow-agent.service');

/** The update tests' bundle, plus what install.sh installs from it: the launcher and the unit. */
export async function makeBundle(arch: 'arm64' | 'x64' = 'arm64', version = '0.1.0'): Promise<string> {
  const dir = tmp('bundle');
  mkdirSync(join(dir, 'systemd'));
  writeFileSync(join(dir, 'wacoflow-launch'), '#!/bin/sh\nexec ./current/run "$@"\n', { mode: 0o755 });
  copyFileSync(UNIT, join(dir, 'systemd', 'wacoflow-agent.service'));
  return fixtureBundle(dir, { version, arch }); // its manifest covers the files above too
}

export const INPUTS_YAML = [
  '- driver: ss125-serial', '  name: i35-hd', '  line: { path: /dev/serial0, baud_rate: 9600 }', '  drops: [{ drop: 201, station_id: i35-nb-brazos }]',
  '- driver: tmdd-http', '  name: txdot', '  url: http://10.0.0.5/tmdd/detectorDataMsg',
].join('\n');

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `wacoflow-${prefix}-`));
}
