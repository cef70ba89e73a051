/**
 * Remote configuration on the board. Operators publish configuration documents at fleet, site and device scope
 * (retained MQTT topics); the board's effective configuration is its local file with the fleet's document on
 * top, then its site's, then its own (later wins, key by key). A document is applied only if the result is a
 * valid agent configuration; otherwise it is refused with the reason and the board keeps what it runs. Applied
 * documents are kept in the data directory, so a board that reboots without its uplink starts with them.
 *
 * Identity and the uplink (device id, site, gateway URL, credentials, TLS, data directory, updates) are set only
 * in the local file: a document that could cut a board off from the gateway could never be taken back remotely.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { ConfigScope, tryDecode, type ConfigDocument, type ConfigReport } from '../../protocol/index.ts';
import { AgentFileConfigSchema, type AgentFileConfig } from '../config.ts';
import { writeFileDurably } from '../../platform/durable-file.ts';

/** The settings a document may carry; everything else belongs to the board's own file. */
export const REMOTE_KEYS = [
  'bin_ms', 'close_delay_ms', 'heartbeat_interval_ms', 'max_bins_per_message', 'max_inflight_messages', 'ack_timeout_ms',
  'reconnect_ms', 'keepalive_s', 'live_window_ms', 'backlog_bins_per_s', 'input_timeout_ms', 'breaker_failure_threshold',
  'breaker_open_ms', 'max_sample_age_ms', 'max_sample_future_ms', 'inputs',
] as const;

const SCOPES = ConfigScope.options;
type Scope = (typeof SCOPES)[number];
export type Documents = Record<Scope, ConfigDocument | null>;

export type Decision =
  | { kind: 'apply'; config: AgentFileConfig; hash: string }
  | { kind: 'refuse'; reason: string }
  /** Nothing to do: a document already applied, arriving again after a reconnect. */
  | { kind: 'same' };

/** Problems with a document's settings that no merge can fix: keys that are not remote settings. */
export function checkRemoteKeys(config: Record<string, unknown>): string[] {
  const allowed = new Set<string>(REMOTE_KEYS);
  return Object.keys(config)
    .filter((k) => !allowed.has(k))
    .map((k) => `${k} cannot be set remotely: ${k in AgentFileConfigSchema.shape ? 'it is set only in the board\'s own file, so a document can never cut the board off' : 'not an agent setting'}`);
}

/** The local file's settings with each scope's document on top, fleet first. */
export function merge(base: Record<string, unknown>, docs: Documents): Record<string, unknown> {
  return Object.assign({}, base, ...SCOPES.map((s) => docs[s]?.config ?? {}));
}

/** JSON with keys in order, so equal configurations hash equal whatever order their documents gave. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

export function configHash(config: unknown): string {
  return `sha256:${createHash('sha256').update(canonical(config)).digest('hex').slice(0, 16)}`;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ');
}

export class RemoteConfig {
  private readonly base: Record<string, unknown>;
  private readonly site: string;
  private readonly device_id: string;
  private readonly stateFile: string;
  private readonly now: () => number;
  private docs: Documents = { fleet: null, site: null, device: null };
  private refused: ConfigReport['refused'] = null;
  private hash: string;
  /** The configuration to start with (see the constructor). */
  readonly initial: AgentFileConfig;

  /**
   * `base` is the local file's content as read (before defaults); applied documents are kept in `state_file`.
   * Starts from the file with the documents applied before a restart, if they still make a valid configuration
   * with today's file (if not, from the file alone, and the documents are dropped).
   */
  constructor(o: { base: Record<string, unknown>; site: string; device_id: string; state_file: string; now(): number }) {
    this.base = o.base;
    this.site = o.site;
    this.device_id = o.device_id;
    this.stateFile = o.state_file;
    this.now = o.now;
    let saved: Partial<Documents> = {};
    try {
      saved = JSON.parse(readFileSync(this.stateFile, 'utf8')) as Partial<Documents>;
    } catch {
      // none kept yet, or unreadable: start from the file alone
    }
    const docs: Documents = { fleet: null, site: null, device: null };
    for (const s of SCOPES) {
      const d = tryDecode('config_document', saved[s] ?? null);
      if (d.ok && d.value.scope === s) docs[s] = d.value;
    }
    const r = AgentFileConfigSchema.safeParse(merge(this.base, docs));
    if (r.success) this.docs = docs;
    this.initial = r.success ? r.data : AgentFileConfigSchema.parse(this.base);
    this.hash = configHash(this.initial);
  }

  report(): ConfigReport {
    return { applied_hash: this.hash, versions: { fleet: this.docs.fleet?.version ?? null, site: this.docs.site?.version ?? null, device: this.docs.device?.version ?? null }, refused: this.refused };
  }

  /** A message on one of the board's config topics; an empty payload withdraws that scope's document. */
  receive(scope: Scope, payload: Buffer): Decision {
    const next: Documents = { ...this.docs };
    if (payload.length === 0) {
      if (!this.docs[scope]) return { kind: 'same' };
      next[scope] = null;
    } else {
      const d = tryDecode('config_document', payload);
      if (!d.ok) return this.refuse(scope, 0, `not a configuration document: ${d.error.message}`);
      const doc = d.value;
      const target = scope === 'fleet' ? null : scope === 'site' ? this.site : this.device_id;
      if (doc.scope !== scope || doc.target !== target) return this.refuse(scope, doc.version, `the document is for ${doc.scope} ${doc.target ?? '(fleet)'}, published on the ${scope} topic of ${target ?? 'the fleet'}`);
      const applied = this.docs[scope];
      if (applied && doc.version === applied.version && canonical(doc) === canonical(applied)) return { kind: 'same' };
      if (applied && doc.version <= applied.version) return this.refuse(scope, doc.version, `version ${doc.version} is not newer than the applied version ${applied.version}`);
      const wrong = checkRemoteKeys(doc.config);
      if (wrong.length > 0) return this.refuse(scope, doc.version, wrong.join('; '));
      next[scope] = doc;
    }
    const r = AgentFileConfigSchema.safeParse(merge(this.base, next));
    if (!r.success) return this.refuse(scope, next[scope]?.version ?? 0, `the resulting configuration is invalid: ${describeIssues(r.error)}`);
    this.docs = next;
    this.refused = null;
    this.hash = configHash(r.data);
    writeFileDurably(this.stateFile, `${JSON.stringify(this.docs)}\n`);
    return { kind: 'apply', config: r.data, hash: this.hash };
  }

  private refuse(scope: Scope, version: number, reason: string): Decision {
    this.refused = { scope, version, reason, ts_ms: this.now() };
    return { kind: 'refuse', reason };
  }
}

export function remoteConfigFile(data_dir: string): string {
  return join(data_dir, 'remote-config.json');
}
