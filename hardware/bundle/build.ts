/**
 * `wacoflow build-agent --arch arm64|x64 --out DIR`: a self-contained agent bundle, nothing to fetch on the
 * board.
 *
 *   DIR/manifest.json            version, architecture, entry, runtime, and every file's size and SHA-256
 *   DIR/wacoflow-agent.mjs       the agent (entry), one ES module
 *   DIR/native/serialport.node   serialport's prebuilt binding for the architecture
 *   DIR/bin/node                 the Node.js runtime for the architecture (npm package node-linux-<arch>)
 *   DIR/run                      starts the entry on the bundled runtime with the agent's V8 flags
 *   DIR/wacoflow-launch          the A/B launcher the systemd unit runs (installed once, outside the slots)
 *   DIR/systemd/wacoflow-agent.service
 *
 * The bundle is written beside DIR and renamed into place when complete, so DIR is never half a bundle.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Version, type Arch } from '../../protocol/index.ts';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { AGENT_SCRIPT, buildAgentScript, NODE_FLAGS, packageVersion } from './agent-script.ts';
import { type BundleManifest, writeManifest } from '../../edge-agent/update/manifest.ts';
import { BUNDLED_NODE_VERSION, nodeRuntime } from './node-runtime.ts';

const hardware = join(import.meta.dirname, '..');

export interface BuildOptions {
  arch: Arch;
  out: string;
  /** The version the agent reports and the manifest carries; the package's by default. */
  version?: string;
  /** A manifest past this time is refused by boards; null: never expires. */
  expires_ms?: number | null;
  /** Replace an existing bundle at `out`. */
  force?: boolean;
  log?: (line: string) => void;
}

/** The script `run`: the bundled runtime, the agent's V8 flags, the entry; the path through any symlink. */
function runScript(): string {
  return [
    '#!/bin/sh',
    '# Starts the agent on the Node.js runtime shipped in this bundle, with the V8 settings its memory figures assume.',
    'here=$(dirname "$(readlink -f "$0")")',
    `exec "$here/bin/node" ${NODE_FLAGS.join(' ')} "$here/${AGENT_SCRIPT}" "$@"`,
    '',
  ].join('\n');
}

export async function buildAgentBundle(options: BuildOptions): Promise<BundleManifest> {
  const log = options.log ?? (() => {});
  const out = resolve(options.out);
  if (existsSync(out) && readdirSync(out).length > 0 && !options.force) {
    throw new WacoflowError(ERR.CONFIG, `--out ${out}: the folder exists and is not empty; choose another, or give --force to replace it`);
  }
  const unit = join(hardware, 'systemd', 'wacoflow-agent.service');
  if (!existsSync(unit)) throw new WacoflowError(ERR.CONFIG, `${unit} is missing from this checkout`);
  const version = options.version ?? packageVersion();
  if (!Version.safeParse(version).success) throw new WacoflowError(ERR.CONFIG, `--version "${version}": give a version like 1.2.3 (boards compare versions to refuse older releases)`);
  const node = nodeRuntime(options.arch, BUNDLED_NODE_VERSION, log);

  const tmp = `${out}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  log(`bundling the agent ${version} for ${options.arch}`);
  await buildAgentScript(tmp, options.arch, version);
  mkdirSync(join(tmp, 'bin'));
  copyFileSync(node, join(tmp, 'bin', 'node'));
  chmodSync(join(tmp, 'bin', 'node'), 0o755);
  writeFileSync(join(tmp, 'run'), runScript(), { mode: 0o755 });
  copyFileSync(join(hardware, 'bundle', 'wacoflow-launch.sh'), join(tmp, 'wacoflow-launch'));
  chmodSync(join(tmp, 'wacoflow-launch'), 0o755);
  mkdirSync(join(tmp, 'systemd'));
  copyFileSync(unit, join(tmp, 'systemd', 'wacoflow-agent.service'));

  log('hashing files');
  const manifest = await writeManifest(tmp, {
    version,
    arch: options.arch,
    entry: AGENT_SCRIPT,
    runtime: { node: 'bin/node', node_version: BUNDLED_NODE_VERSION, node_flags: NODE_FLAGS },
    expires_ms: options.expires_ms ?? null,
  });

  mkdirSync(dirname(out), { recursive: true });
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  const bytes = manifest.files.reduce((n, f) => n + f.size, 0);
  log(`${out}: wacoflow-agent ${version} for ${options.arch}, ${manifest.files.length} files, ${(bytes / 1e6).toFixed(1)} MB`);
  return manifest;
}
