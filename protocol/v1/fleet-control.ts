/**
 * What operators send down to boards, and what boards report back about it (ARCHITECTURE.md, "Fleet"):
 * configuration documents at fleet, site and device scope, and release announcements. Both travel on retained
 * MQTT topics, so a board that was offline gets the latest of each when it reconnects.
 */
import { z } from 'zod';
import { EpochMs, Id } from './common.ts';

export const ConfigScope = z.enum(['fleet', 'site', 'device']);
export type ConfigScope = z.infer<typeof ConfigScope>;

/**
 * A configuration document: a partial agent configuration for every board in its scope. A board's effective
 * configuration is its local file, then the fleet document, then its site's, then its own (later wins, key by
 * key; `inputs` is replaced whole). `version` rises with every document an operator publishes at that scope.
 */
export const ConfigDocumentSchema = z
  .object({
    v: z.literal(1),
    scope: ConfigScope,
    /** The site (scope site) or device id (scope device) it is for; null for the fleet. */
    target: Id.nullable(),
    version: z.number().int().min(1),
    config: z.record(z.string(), z.unknown()),
    by: z.string().min(1).max(64),
    ts_ms: EpochMs,
  })
  .strict()
  .refine((d) => (d.scope === 'fleet') === (d.target === null), { message: 'a fleet document has no target; a site or device document names one', path: ['target'] });
export type ConfigDocument = z.infer<typeof ConfigDocumentSchema>;

export const Arch = z.enum(['arm64', 'x64']);
export type Arch = z.infer<typeof Arch>;

/** Semantic version without build metadata: 1.2.3 or 1.2.3-rc.1. */
export const Version = z.string().regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, 'must be a version like 1.2.3').max(64);

/**
 * An operator's announcement of a signed agent release. Each architecture's bundle is a folder served over
 * HTTP(S) holding `manifest.json`, `manifest.sig` and the files the manifest lists; `bundles` gives each
 * folder's URL. A release may go to a share of the fleet first, or to named sites only.
 */
export const ReleaseAnnouncementSchema = z
  .object({
    v: z.literal(1),
    version: Version,
    bundles: z.partialRecord(Arch, z.url({ protocol: /^https?$/ })),
    /** Boards whose rollout bucket (0–99, from a hash of device id and version) is below this take it. */
    share_pct: z.number().int().min(0).max(100).default(100),
    /** Only boards at these sites take it; null: every site. */
    sites: z.array(Id).min(1).nullable().default(null),
    by: z.string().min(1).max(64),
    ts_ms: EpochMs,
  })
  .strict();
export type ReleaseAnnouncement = z.infer<typeof ReleaseAnnouncementSchema>;

/** What a board reports about its configuration, in every heartbeat and at once after a document arrives. */
export const ConfigReportSchema = z.object({
  /** Hash of the effective configuration it runs (`sha256:` and 16 hex digits). */
  applied_hash: z.string().min(1).max(128),
  /** The version of each scope's document it applied; null where none was received. */
  versions: z.object({ fleet: z.number().int().nullable(), site: z.number().int().nullable(), device: z.number().int().nullable() }),
  /** The latest document it refused, and why; null once a later one applied. */
  refused: z.object({ scope: ConfigScope, version: z.number().int(), reason: z.string().max(2_000), ts_ms: EpochMs }).nullable(),
});
export type ConfigReport = z.infer<typeof ConfigReportSchema>;

export const UpdateState = z.enum(['idle', 'downloading', 'installing', 'trial', 'installed', 'refused', 'rolled_back', 'failed']);
export type UpdateState = z.infer<typeof UpdateState>;

/** What a board reports about software updates. */
export const UpdateReportSchema = z.object({
  state: UpdateState,
  /** The release this state is about (the one offered, installed, refused or rolled back). */
  version: Version.nullable(),
  reason: z.string().max(2_000).nullable(),
  ts_ms: EpochMs,
});
export type UpdateReport = z.infer<typeof UpdateReportSchema>;
