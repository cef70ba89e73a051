/**
 * A bundle's manifest: what a board runs and how to check it. It names every file with its size and SHA-256, so
 * a signature over the manifest covers every byte of the bundle (the approach of TUF and Mender: sign the
 * manifest, never the files one by one).
 */
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { z } from 'zod';
import { Arch, Version } from '../../protocol/index.ts';
import { ERR, WacoflowError } from '../../platform/errors.ts';

export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';

const BundlePath = z
  .string()
  .min(1)
  .max(255)
  .refine((p) => !p.startsWith('/') && !p.split('/').some((part) => part === '..' || part === '.' || part === ''), 'must be a relative path inside the bundle');

export const BundleFileSchema = z.object({
  path: BundlePath,
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Executable (mode 0755) rather than 0644. */
  exec: z.boolean().default(false),
});
export type BundleFile = z.infer<typeof BundleFileSchema>;

export const BundleManifestSchema = z
  .object({
    v: z.literal(1),
    name: z.literal('wacoflow-agent'),
    version: Version,
    arch: Arch,
    /** The script the runtime runs, relative to the bundle. */
    entry: BundlePath,
    runtime: z.object({ node: BundlePath, node_version: z.string().min(1), node_flags: z.array(z.string().regex(/^--[a-z0-9-]+(=[A-Za-z0-9_.-]+)?$/)) }),
    built_ms: z.number().int().min(0),
    /** After this a board refuses the bundle (a stale release replayed by an attacker); null: never. */
    expires_ms: z.number().int().min(0).nullable().default(null),
    files: z.array(BundleFileSchema).min(1),
  })
  .strict();
export type BundleManifest = z.infer<typeof BundleManifestSchema>;

/** The bytes that are signed and verified: the manifest file exactly as stored. */
export function readManifestBytes(dir: string): Buffer {
  try {
    return readFileSync(join(dir, MANIFEST_FILE));
  } catch (err) {
    throw new WacoflowError(ERR.CONFIG, `${join(dir, MANIFEST_FILE)}: cannot read the bundle manifest (${(err as NodeJS.ErrnoException).code}); build one with 'wacoflow build-agent'`);
  }
}

export function parseManifest(bytes: Buffer | string, where: string): BundleManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString());
  } catch {
    throw new WacoflowError(ERR.CONFIG, `${where}: the manifest is not valid JSON`);
  }
  const r = BundleManifestSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new WacoflowError(ERR.CONFIG, `${where}: ${i.path.join('.') || '(manifest)'}: ${i.message}`);
  }
  return r.data;
}

export function readManifest(dir: string): BundleManifest {
  return parseManifest(readManifestBytes(dir), join(dir, MANIFEST_FILE));
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every regular file under `dir` (but the manifest and its signature), sorted, with size, hash and mode. */
export async function describeFiles(dir: string): Promise<BundleFile[]> {
  const out: BundleFile[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const path = relative(dir, p).split(sep).join('/');
        if (path === MANIFEST_FILE || path === SIGNATURE_FILE) continue;
        const st = statSync(p);
        out.push({ path, size: st.size, sha256: await sha256File(p), exec: (st.mode & 0o111) !== 0 });
      } else throw new WacoflowError(ERR.CONFIG, `${p}: a bundle holds only files and folders (found a link or device)`);
    }
  };
  await walk(dir);
  return out;
}

/**
 * Checks that `dir` holds exactly the manifest's files with their sizes and hashes. Returns the problems, each
 * naming the file; an empty list means the bundle is intact.
 */
export async function verifyFiles(dir: string, manifest: BundleManifest): Promise<string[]> {
  const problems: string[] = [];
  for (const f of manifest.files) {
    const p = join(dir, ...f.path.split('/'));
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st?.isFile()) problems.push(`${f.path}: missing`);
    else if (st.size !== f.size) problems.push(`${f.path}: ${st.size} bytes, the manifest says ${f.size}`);
    else if ((await sha256File(p)) !== f.sha256) problems.push(`${f.path}: SHA-256 differs from the manifest`);
  }
  return problems;
}

/** Describes the files in `dir` and writes its manifest.json; returns the manifest. */
export async function writeManifest(dir: string, meta: Omit<BundleManifest, 'v' | 'name' | 'files' | 'built_ms' | 'expires_ms'> & { expires_ms?: number | null }): Promise<BundleManifest> {
  const manifest = BundleManifestSchema.parse({
    v: 1,
    name: 'wacoflow-agent',
    ...meta,
    built_ms: Date.now(),
    expires_ms: meta.expires_ms ?? null,
    files: await describeFiles(dir),
  } satisfies BundleManifest);
  writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
