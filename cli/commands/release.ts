/**
 * `wacoflow release keygen|sign|announce`: signed agent releases. The key pair is made once; the private key
 * stays on the operator's workstation, the public key goes onto every board (`wacoflow flash --release-key`).
 * A release is a bundle from `wacoflow build-agent`, signed, put where boards can fetch it (the gateway's
 * releases_dir, or any HTTP(S) server), and announced to the fleet, to a share of it, or to named sites.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { httpGet } from '../../edge-agent/inputs/http-get.ts';
import { MANIFEST_FILE, parseManifest, SIGNATURE_FILE } from '../../edge-agent/update/manifest.ts';
import { publicKeyFromPem, verifyManifestSignature } from '../../edge-agent/update/signature.ts';
import { Arch, encode, MQTT_RELEASE_TOPIC, ReleaseAnnouncementSchema, type ReleaseAnnouncement } from '../../protocol/index.ts';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { addOperatorOptions, withOperator, type OperatorOptions } from '../operator.ts';
import { failing } from '../run.ts';

/** `arm64=https://…/` → [arm64, URL], checked. */
function bundleOption(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  const arch = value.slice(0, eq);
  if (eq < 0 || !Arch.safeParse(arch).success) throw new WacoflowError(ERR.CONFIG, `--bundle "${value}": give ARCH=URL, ARCH arm64 or x64, e.g. --bundle arm64=http://gateway:9102/releases/0.2.0/arm64/`);
  return { ...previous, [arch]: value.slice(eq + 1) };
}

/** Fetches each bundle's manifest and signature as a board will, so a wrong URL or version fails here, not on 500 boards. */
async function checkBundles(a: ReleaseAnnouncement, publicKey: string | undefined): Promise<string[]> {
  const key = publicKey ? publicKeyFromPem(readFileSync(publicKey, 'utf8'), `--release-key ${publicKey}`) : null;
  const lines: string[] = [];
  for (const [arch, url] of Object.entries(a.bundles)) {
    const base = url.endsWith('/') ? url : `${url}/`;
    const get = (name: string) => httpGet(`${base}${name}`, { headers: {}, signal: AbortSignal.timeout(15_000), max_bytes: 1 << 20 }).then((r) => r.body);
    const bytes = await get(MANIFEST_FILE).catch((err: unknown) => {
      throw new WacoflowError(ERR.CONFIG, `--bundle ${arch}: ${(err as Error).message}; is the signed bundle copied there?`);
    });
    const m = parseManifest(bytes, `${base}${MANIFEST_FILE}`);
    if (m.arch !== arch) throw new WacoflowError(ERR.CONFIG, `--bundle ${arch}=${url} holds a ${m.arch} bundle`);
    if (m.version !== a.version) throw new WacoflowError(ERR.CONFIG, `--bundle ${arch}=${url} holds version ${m.version}, not --version ${a.version}`);
    const sig = await get(SIGNATURE_FILE).catch(() => {
      throw new WacoflowError(ERR.CONFIG, `--bundle ${arch}: no ${SIGNATURE_FILE} beside the manifest; sign it with 'wacoflow release sign' (boards refuse unsigned releases)`);
    });
    if (key && !verifyManifestSignature(bytes, sig.toString(), key)) throw new WacoflowError(ERR.CONFIG, `--bundle ${arch}: the signature does not verify with ${publicKey}`);
    lines.push(`  ${arch}: ${base} (${m.files.length} files${key ? ', signature verified' : ''})`);
  }
  return lines;
}

export function releaseCommand(): Command {
  const release = new Command('release').summary('signed agent releases: make the key, sign a bundle, announce it to boards');

  release
    .command('keygen')
    .summary('make the Ed25519 release key pair (private key 0600; keep it off the boards)')
    .requiredOption('--out <dir>', 'where to write release-key.pem and release-key.pub')
    .option('--force', 'replace an existing key (every board must then be given the new public key)')
    .action(
      failing(async (o: { out: string; force?: boolean }) => {
        const { generateReleaseKeys } = await import('../../hardware/bundle/signing.ts');
        const k = generateReleaseKeys(o.out, o.force ?? false);
        process.stdout.write(`private key ${k.privateKey} (keep it safe and off the boards)\npublic key  ${k.publicKey} (give it to 'wacoflow flash --release-key')\n`);
      }),
    );

  release
    .command('sign')
    .summary('check a built bundle against its manifest and sign the manifest (writes manifest.sig)')
    .argument('<bundle-dir>', "a folder written by 'wacoflow build-agent'")
    .requiredOption('--key <file>', 'the release private key (release-key.pem)')
    .action(
      failing(async (dir: string, o: { key: string }) => {
        const { signBundle } = await import('../../hardware/bundle/signing.ts');
        const s = await signBundle(dir, o.key);
        process.stdout.write(`signed ${dir}: wacoflow-agent ${s.version} for ${s.arch}\ncopy the folder to the gateway's releases_dir as ${s.version}/${s.arch}/, then 'wacoflow release announce'\n`);
      }),
    );

  addOperatorOptions(
    release
      .command('announce')
      .summary('announce a signed release to the fleet, a share of it, or named sites')
      .requiredOption('--version <version>', 'the release version (newer than what boards run)')
      .requiredOption('--bundle <arch=url>', 'where boards of ARCH fetch the bundle folder; repeat per architecture', bundleOption)
      .option('--share <percent>', 'only this share of the boards (a stable subset; raise it to widen the rollout)', '100')
      .option('--sites <list>', 'only boards at these sites (comma-separated)')
      .option('--release-key <file>', 'check each bundle\'s signature with this public key before announcing')
      .option('--by <name>', 'who announces it', process.env.USER ?? 'operator'),
  ).action(
    failing(async (o: OperatorOptions & { version: string; bundle: Record<string, string>; share: string; sites?: string; releaseKey?: string; by: string }) => {
      const r = ReleaseAnnouncementSchema.safeParse({
        v: 1, version: o.version, bundles: o.bundle, share_pct: Number(o.share), sites: o.sites ? o.sites.split(',').map((s) => s.trim()) : null, by: o.by, ts_ms: Date.now(),
      });
      if (!r.success) {
        const flag: Record<string, string> = { version: '--version', bundles: '--bundle', share_pct: '--share', sites: '--sites' };
        throw new WacoflowError(ERR.CONFIG, r.error.issues.map((i) => `${flag[String(i.path[0])] ?? i.path.join('.')}: ${i.message}`).join('\n'));
      }
      const checked = await checkBundles(r.data, o.releaseKey);
      await withOperator(o, (client) => client.publishAsync(MQTT_RELEASE_TOPIC, encode(r.data), { qos: 1, retain: true }));
      const who = `${r.data.share_pct} % of the boards${r.data.sites ? ` at ${r.data.sites.join(', ')}` : ''}`;
      process.stdout.write(`announced ${r.data.version} to ${who}\n${checked.join('\n')}\nboards report progress in their heartbeat: GET /api/fleet (update.state)\n`);
    }),
  );
  return release;
}
