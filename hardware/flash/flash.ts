/**
 * `wacoflow flash`: provisions one board. In order:
 *   check every input (options, files, board profile, inputs, the whole agent.yaml) — nothing is written before
 *   → refuse a board provisioned before (in the registry, or a payload at the target) unless --force
 *   → the agent bundle (given, cached or built) → a new secret, and a client certificate when the gateway uses
 *   mutual TLS → the payload, staged and put in place (--out, --boot) or copied and installed (--ssh)
 *   → the registry last, so a failed delivery leaves the registry (and a re-flashed board's old secret) as it was.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicKeyFromPem } from '../../edge-agent/update/signature.ts';
import { hashSecret, newSecret } from '../../gateway/registry/devices.ts';
import { checkRegistryId, readRegistryFile, writeRegistryFile } from '../../gateway/registry/file-registry.ts';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { loadBoard } from '../boards.ts';
import { buildAgentConfig, parseInputs, serialPaths } from './agent-config.ts';
import { BOOT_PAYLOAD, checkBootPartition, prepareBoot } from './boot.ts';
import { resolveBundle } from './bundle.ts';
import { issueClientCert } from './certs.ts';
import { checkDestination, placePayload, writePayload, type PayloadContent } from './payload.ts';
import { spawnRunner, sshCleanup, sshInstall, sshProbe, parseDest, type Runner, type SshTarget } from './ssh.ts';

export type FlashTarget = { kind: 'out'; dir: string } | { kind: 'boot'; path: string } | ({ kind: 'ssh' } & SshTarget);

export interface FlashOptions {
  board: string;
  device_id: string;
  site: string;
  gateway: string;
  target: FlashTarget;
  registry: string;
  ca?: string;
  device_ca_cert?: string;
  device_ca_key?: string;
  release_key?: string;
  inputs?: string;
  bundle?: string;
  force: boolean;
  /** The WacoFlow version a built bundle must carry. */
  version: string;
  boards_dir?: string;
  bundle_cache?: string;
  log?: (line: string) => void;
  /** How ssh/scp/rsync run (tests replace it). */
  runner?: Runner;
  local_rsync?: boolean;
}

function readOptionFile(option: string, file: string, expect: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new WacoflowError(ERR.CONFIG, `${option} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code}); give ${expect}`);
  }
}

function checkOptions(o: FlashOptions): void {
  checkRegistryId('--device-id', o.device_id, 'device');
  checkRegistryId('--site', o.site, 'site');
  if (!/^mqtts?:\/\/[^/]+$/.test(o.gateway)) throw new WacoflowError(ERR.CONFIG, `--gateway "${o.gateway}": give the gateway's MQTT URL, for example mqtts://gateway.example:8883 or mqtt://10.0.0.2:1883`);
  const tls = o.gateway.startsWith('mqtts://');
  if (!tls && (o.ca || o.device_ca_cert)) throw new WacoflowError(ERR.CONFIG, `--gateway ${o.gateway}: --ca and --device-ca-cert are for a TLS gateway; give an mqtts:// URL`);
  if (!o.device_ca_cert !== !o.device_ca_key) throw new WacoflowError(ERR.CONFIG, `--device-ca-cert and --device-ca-key: give both (the CA the gateway trusts for device certificates, and its key) or neither`);
  if (o.target.kind === 'ssh') parseDest(o.target.dest);
}

function readReleaseKey(file: string): string {
  const pem = readOptionFile('--release-key', file, 'the Ed25519 public key (PEM) that signs releases');
  publicKeyFromPem(pem, `--release-key ${file}`); // checked as a board will read it
  return pem;
}

export interface FlashResult {
  summary: string[];
  secret_rotated: boolean;
  payload: string | null;
}

export async function flash(o: FlashOptions): Promise<FlashResult> {
  const log = o.log ?? (() => {});
  checkOptions(o);
  const board = loadBoard(o.board, o.boards_dir);
  const ca = o.ca ? readOptionFile('--ca', o.ca, "the PEM certificate of the CA that signed the gateway's certificate") : undefined;
  if (ca && !ca.includes('-----BEGIN CERTIFICATE-----')) throw new WacoflowError(ERR.CONFIG, `--ca ${o.ca}: not a PEM certificate`);
  const releaseKey = o.release_key ? readReleaseKey(o.release_key) : undefined;
  const inputs = o.inputs ? parseInputs(readOptionFile('--inputs', o.inputs, 'a YAML list of inputs'), o.inputs) : null;
  const { config, yaml } = buildAgentConfig(board, { device_id: o.device_id, site: o.site, mqtt_url: o.gateway, tls: { ca: !!ca, client: !!o.device_ca_cert }, release_key: !!releaseKey, inputs });

  const devices = readRegistryFile(o.registry);
  const known = devices.find((d) => d.device_id === o.device_id);
  if (known && !o.force) throw new WacoflowError(ERR.CONFIG, `--device-id ${o.device_id}: already registered in ${o.registry} (provisioned before); give --force to flash it again with a new secret (the old one stops working)`);
  const t = o.target;
  if (t.kind === 'out') checkDestination(t.dir, o.force, '--out');
  if (t.kind === 'boot') {
    checkBootPartition(t.path);
    checkDestination(join(t.path, BOOT_PAYLOAD), o.force, '--boot');
  }
  const run = o.runner ?? spawnRunner;
  const remote = t.kind === 'ssh' ? await sshProbe(t, run, log) : null;
  if (t.kind === 'ssh' && remote?.provisioned && !o.force) {
    await sshCleanup(t, remote.dir, run);
    throw new WacoflowError(ERR.CONFIG, `--ssh ${t.dest}: the board already has a wacoflow install (/etc/wacoflow/agent.yaml); give --force to replace it (the device gets a new secret)`);
  }

  const bundle = await resolveBundle({ given: o.bundle, arch: board.arch, version: o.version, cache: o.bundle_cache, log });
  const secret = newSecret();
  const client = o.device_ca_cert ? await issueClientCert({ device_id: o.device_id, ca_cert: o.device_ca_cert, ca_key: o.device_ca_key! }) : undefined;
  const content: PayloadContent = { bundle_dir: bundle.dir, agent_yaml: yaml, secret, ca, client_cert: client?.cert, client_key: client?.key, release_key: releaseKey };

  const summary: string[] = [];
  let payload: string | null = null;
  let written: string[];
  if (t.kind === 'ssh') {
    const staging = mkdtempSync(join(tmpdir(), 'wacoflow-flash-'));
    try {
      written = writePayload(join(staging, 'payload'), content);
      await sshInstall(t, join(staging, 'payload'), remote!, run, log, o.local_rsync ?? existsSync('/usr/bin/rsync'));
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    summary.push(`installed on ${t.dest}${t.root ? ` under ${t.root}` : ''}: ${written.join(', ')}`);
  } else {
    payload = t.kind === 'out' ? t.dir : join(t.path, BOOT_PAYLOAD);
    written = placePayload(payload, content);
    summary.push(`payload   ${payload}: ${written.join(', ')} (mqtt-password${client ? ' and client.key' : ''} mode 0600)`);
    if (t.kind === 'boot') for (const line of prepareBoot(t.path, { device_id: o.device_id, board, serial_paths: serialPaths(config) })) summary.push(`boot      ${line}`);
  }

  // The registry last, re-read in case it changed meanwhile (`wacoflow devices` may have run).
  const now = Date.now();
  const latest = readRegistryFile(o.registry);
  const hash = await hashSecret(secret);
  const existing = latest.find((d) => d.device_id === o.device_id);
  if (existing) Object.assign(existing, { site: o.site, secret_hash: hash, updated_ms: now });
  else latest.push({ device_id: o.device_id, site: o.site, enabled: true, role: 'device', secret_hash: hash, created_ms: now, updated_ms: now });
  writeRegistryFile(o.registry, latest);

  summary.unshift(`flashed ${o.device_id} (${board.model}, ${board.arch}) at site ${o.site} for ${o.gateway}`);
  summary.push(`registry  ${o.registry}: ${existing ? 'secret rotated (the old one no longer works)' : 'device added'}${existing && !existing.enabled ? `; it is disabled: 'wacoflow devices enable ${o.device_id}'` : ''}`);
  summary.push(`bundle    ${bundle.manifest.version} (${bundle.manifest.arch})${bundle.built ? ', built now' : ''} from ${bundle.dir}`);
  const ins = config.inputs as { driver: string; name: string }[];
  summary.push(`agent     ${ins.length} input${ins.length === 1 ? '' : 's'} (${ins.map((i) => `${i.driver} ${i.name}`).join(', ')})${inputs ? '' : ' from the board profile'}`);
  if (ca || client) summary.push(`tls       ${[ca ? 'gateway CA' : '', client ? `client certificate CN=${o.device_id}` : ''].filter(Boolean).join(', ')}`);
  if (releaseKey) summary.push('updates   release-key.pub: the board accepts releases signed by this key');
  return { summary, secret_rotated: !!existing, payload };
}
