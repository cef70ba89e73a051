/**
 * Small agent bundles for the update and launcher tests: the layout and signed manifest of a real bundle, with
 * a `run` script whose behaviour the test chooses (report healthy, crash, hang) in place of the agent, so the
 * install and rollback machinery is exercised in seconds. The end-to-end update test uses real bundles.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeManifest } from '../edge-agent/update/manifest.ts';
import { signBundle } from '../hardware/bundle/signing.ts';
import type { Arch } from '../protocol/index.ts';

/** What a fixture's `run` does: `healthy` deletes `pending` (as a new agent does once a heartbeat is acknowledged). */
export type RunBehaviour = 'healthy' | 'crash' | 'hang' | 'healthy-then-update';

/** The same bytes in every fixture, as the Node runtime is the same in consecutive releases. */
const RUNTIME = randomBytes(256 * 1024);

function runScript(version: string, behaviour: RunBehaviour): string {
  const body = {
    healthy: 'rm -f "$WACOFLOW_HOME/pending"\nexit 0',
    // Healthy, then at once a newer release installed into the other slot, as the updater does: its own `pending`,
    // `current` switched, exit for the launcher to start it.
    'healthy-then-update':
      'rm -f "$WACOFLOW_HOME/pending"\nprintf "slot=a\\nprevious=b\\nversion=0.3.0\\nhealth_timeout_s=30\\nstarts=0\\n" >"$WACOFLOW_HOME/pending"\nln -sfn slots/a "$WACOFLOW_HOME/current"\nexit 0',
    crash: 'exit 3',
    hang: 'trap "exit 0" TERM\nwhile :; do sleep 0.2; done',
  }[behaviour];
  // The launcher runs `current/run` from the install home; each start is appended to a log the test reads.
  return `#!/bin/sh\necho $$ >"$WACOFLOW_HOME/run.pid"\necho "${version} $*" >>"$WACOFLOW_HOME/starts.log"\n${body}\n`;
}

export async function fixtureBundle(dir: string, o: { version: string; arch?: Arch; behaviour?: RunBehaviour; signWith?: string }): Promise<string> {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  writeFileSync(join(dir, 'bin', 'node'), RUNTIME, { mode: 0o755 });
  writeFileSync(join(dir, 'wacoflow-agent.mjs'), `// agent ${o.version}\n${randomBytes(2048).toString('base64')}\n`);
  writeFileSync(join(dir, 'run'), runScript(o.version, o.behaviour ?? 'healthy'), { mode: 0o755 });
  await writeManifest(dir, { version: o.version, arch: o.arch ?? 'x64', entry: 'wacoflow-agent.mjs', runtime: { node: 'bin/node', node_version: '20.19.6', node_flags: [] } });
  if (o.signWith) await signBundle(dir, o.signWith);
  return dir;
}

/** An install home with `bundle` in slot a and `current` pointing at it, as install.sh leaves a board. */
export async function fixtureInstall(home: string, o: { version: string; arch?: Arch; behaviour?: RunBehaviour }): Promise<string> {
  await fixtureBundle(join(home, 'slots', 'a'), o);
  symlinkSync(join('slots', 'a'), join(home, 'current'));
  return home;
}
