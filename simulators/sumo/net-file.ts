/**
 * The SUMO network kept in the repository (`waco.net.xml`), how it is built from network.yaml, and where SUMO
 * is found. `npm run sumo:network` rebuilds the file after network.yaml changes; a test checks it is current.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { edgesXml, nodesXml, type SumoLayout } from './layout.ts';

export const NET_FILE = new URL('./waco.net.xml', import.meta.url);

export const SUMO_INSTALL_HINT = 'install Eclipse SUMO: apt-get install sumo (Debian, Ubuntu), brew install sumo (macOS), or see https://sumo.dlr.de/docs/Installing/';

/** The path of a SUMO program (`sumo`, `netconvert`) on PATH or in $SUMO_HOME/bin, or null. */
export function sumoBinary(name: 'sumo' | 'netconvert', env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = [...(env.PATH ?? '').split(delimiter), ...(env.SUMO_HOME ? [join(env.SUMO_HOME, 'bin')] : [])];
  for (const dir of dirs.filter(Boolean)) if (existsSync(join(dir, name))) return join(dir, name);
  return null;
}

export function sumoAvailable(): boolean {
  return sumoBinary('sumo') !== null && sumoBinary('netconvert') !== null;
}

/** SUMO's data files (schemas, type maps), so it neither warns about SUMO_HOME nor looks anything up online. */
export function sumoEnv(): NodeJS.ProcessEnv {
  if (process.env.SUMO_HOME) return process.env;
  const home = ['/usr/share/sumo', '/usr/local/share/sumo', '/opt/homebrew/share/sumo'].find((d) => existsSync(d));
  return home ? { ...process.env, SUMO_HOME: home } : process.env;
}

/** netconvert's options: no U-turns, fixed-time signals, coordinates as given. */
const NETCONVERT_OPTIONS = ['--no-turnarounds', 'true', '--offset.disable-normalization', 'true', '--tls.default-type', 'static', '--xml-validation', 'never', '--no-warnings', 'true'];

/** Builds the net file for a layout into `out` with netconvert. */
export async function buildNetFile(layout: SumoLayout, out: string): Promise<void> {
  const netconvert = sumoBinary('netconvert');
  if (!netconvert) throw new Error(`netconvert was not found: ${SUMO_INSTALL_HINT}`);
  const dir = mkdtempSync(join(tmpdir(), 'wacoflow-net-'));
  try {
    writeFileSync(join(dir, 'waco.nod.xml'), nodesXml(layout));
    writeFileSync(join(dir, 'waco.edg.xml'), edgesXml(layout));
    await promisify(execFile)(netconvert, ['--node-files', join(dir, 'waco.nod.xml'), '--edge-files', join(dir, 'waco.edg.xml'), ...NETCONVERT_OPTIONS, '--output-file', out], { env: sumoEnv() });
    // netconvert heads the file with the date and its temporary input paths; say instead where it comes from.
    const text = readFileSync(out, 'utf8');
    const version = /Version ([^\s]+)/.exec(text)?.[1] ?? 'unknown';
    writeFileSync(out, text.replace(/<!--[\s\S]*?-->/, `<!-- The Waco network for SUMO: built from simulators/waco/network.yaml by \`npm run sumo:network\` (netconvert ${version}, with the options in simulators/sumo/net-file.ts). Do not edit: rebuild. -->`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A net file without its header comment, for comparing two builds by one netconvert version. */
export function netFileBody(text: string): string {
  return text.replace(/<!--[\s\S]*?-->/g, '').trim();
}

/** The netconvert version that built a net file. */
export function netconvertVersion(text: string): string | null {
  return /netconvert (?:Version )?v?([0-9][^\s,)]*)/.exec(text)?.[1] ?? null;
}

/** What any netconvert version must build alike: each edge with its lanes and their lengths to the metre, and the signals. */
export function netSummary(text: string): string[] {
  const lanes = [...laneLengths(text)].map(([id, len]) => `${id} ${Math.round(len)}`);
  const signals = [...text.matchAll(/<tlLogic id="([^"]+)"/g)].map((m) => `signal ${m[1]}`);
  return [...lanes, ...signals].sort();
}

/** Each lane's length in the net file, by lane id (`<edge>_<index>`); internal lanes left out. */
export function laneLengths(text: string): Map<string, number> {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'edge' || name === 'lane' }).parse(text) as {
    net: { edge: { id: string; function?: string; lane: { id: string; length: string }[] }[] };
  };
  const out = new Map<string, number>();
  for (const e of doc.net.edge) if (e.function !== 'internal') for (const l of e.lane) out.set(l.id, Number(l.length));
  return out;
}
