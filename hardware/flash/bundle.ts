/**
 * The agent bundle a payload carries: one given with --bundle (checked: its manifest, its files' hashes, its
 * architecture against the board's), or one built for the board's architecture by `buildAgentBundle`
 * (hardware/bundle/build.ts) into a cache folder and reused while it matches this version of WacoFlow.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { readManifest, verifyFiles, type BundleManifest } from '../../edge-agent/update/manifest.ts';

/** Files install.sh relies on, besides those the manifest lists. */
export const BUNDLE_REQUIRED = ['manifest.json', 'run', 'wacoflow-launch', 'systemd/wacoflow-agent.service'];

export const BUNDLE_CACHE = join(import.meta.dirname, '..', '..', '.services', 'agent-bundles');

export async function checkBundle(dir: string, arch: string, what = `--bundle ${dir}`): Promise<BundleManifest> {
  if (!existsSync(dir)) throw new WacoflowError(ERR.CONFIG, `${what}: no such folder; build one with 'wacoflow build-agent --arch ${arch} --out DIR', or leave --bundle out to build one`);
  const missing = BUNDLE_REQUIRED.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) throw new WacoflowError(ERR.CONFIG, `${what}: not an agent bundle (missing ${missing.join(', ')}); build one with 'wacoflow build-agent --arch ${arch} --out DIR'`);
  const manifest = readManifest(dir);
  if (manifest.arch !== arch) throw new WacoflowError(ERR.CONFIG, `${what}: the bundle is for ${manifest.arch}, the board is ${arch}; build one with 'wacoflow build-agent --arch ${arch} --out DIR'`);
  const problems = await verifyFiles(dir, manifest);
  if (problems.length > 0) throw new WacoflowError(ERR.CONFIG, `${what}: the bundle does not match its manifest (${problems.slice(0, 3).join('; ')}); rebuild it`);
  return manifest;
}

/** A bundle for `arch`: `given` if there is one, else the cached build for this version, built if needed. */
export async function resolveBundle(o: { given?: string; arch: 'arm64' | 'x64'; version: string; cache?: string; log: (line: string) => void }): Promise<{ dir: string; manifest: BundleManifest; built: boolean }> {
  if (o.given) return { dir: o.given, manifest: await checkBundle(o.given, o.arch), built: false };
  const dir = join(o.cache ?? BUNDLE_CACHE, `${o.arch}-${o.version}`);
  if (existsSync(join(dir, 'manifest.json'))) {
    try {
      const manifest = await checkBundle(dir, o.arch, `cached bundle ${dir}`);
      if (manifest.version === o.version) {
        o.log(`using the cached ${o.arch} agent bundle ${manifest.version} in ${dir}`);
        return { dir, manifest, built: false };
      }
    } catch {
      // A stale or damaged cache is rebuilt below.
    }
  }
  // Loaded only when needed: the builder pulls in esbuild and the Node runtime download.
  const { buildAgentBundle } = await import('../bundle/build.ts');
  o.log(`building the ${o.arch} agent bundle into ${dir} (once per version)`);
  await buildAgentBundle({ arch: o.arch, out: dir, version: o.version, force: true, log: o.log });
  return { dir, manifest: await checkBundle(dir, o.arch, `built bundle ${dir}`), built: true };
}
