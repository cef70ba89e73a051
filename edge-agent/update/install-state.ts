/**
 * The files an A/B install shares between the agent and its launcher (hardware/bundle/wacoflow-launch.sh), under
 * the install home (/opt/wacoflow): `current` → `slots/a|b`, `pending` (a version on trial) and `update-result`
 * (the last install or rollback). Both are key=value lines: the launcher is a POSIX shell script and reads
 * `pending` with `.`, so values are restricted to characters that need no quoting.
 */
import { readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fsyncPath, writeFileDurably } from '../../platform/durable-file.ts';

export type Slot = 'a' | 'b';

export interface Pending {
  slot: Slot;
  previous: Slot;
  version: string;
  health_timeout_s: number;
  starts: number;
}

export interface UpdateResult {
  result: 'installed' | 'rolled_back';
  version: string;
  reason: string | null;
}

const SAFE = /^[A-Za-z0-9._-]+$/;

/** Where the running agent was installed from, if it runs from an A/B slot: `home/slots/<slot>/<script>`. */
export function installOf(script: string): { home: string; slot: Slot } | null {
  let real: string;
  try {
    real = realpathSync(script);
  } catch {
    return null;
  }
  const slotDir = dirname(real);
  const slot = basename(slotDir);
  if ((slot !== 'a' && slot !== 'b') || basename(dirname(slotDir)) !== 'slots') return null;
  return { home: dirname(dirname(slotDir)), slot };
}

export function other(slot: Slot): Slot {
  return slot === 'a' ? 'b' : 'a';
}

function readKeyValues(path: string): Map<string, string> | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

export function readPending(home: string): Pending | null {
  const kv = readKeyValues(join(home, 'pending'));
  if (!kv) return null;
  const slot = kv.get('slot');
  const previous = kv.get('previous');
  if ((slot !== 'a' && slot !== 'b') || (previous !== 'a' && previous !== 'b')) return null;
  return { slot, previous, version: kv.get('version') ?? '', health_timeout_s: Number(kv.get('health_timeout_s') ?? 120), starts: Number(kv.get('starts') ?? 0) };
}

export function writePending(home: string, p: Pending): void {
  if (!SAFE.test(p.version)) throw new Error(`version ${p.version} has characters the launcher cannot read`);
  writeFileDurably(join(home, 'pending'), `slot=${p.slot}\nprevious=${p.previous}\nversion=${p.version}\nhealth_timeout_s=${p.health_timeout_s}\nstarts=${p.starts}\n`);
}

export function readResult(home: string): UpdateResult | null {
  const kv = readKeyValues(join(home, 'update-result'));
  const result = kv?.get('result');
  if (!kv || (result !== 'installed' && result !== 'rolled_back')) return null;
  return { result, version: kv.get('version') ?? '', reason: kv.get('reason') || null };
}

export function writeResult(home: string, r: UpdateResult): void {
  writeFileDurably(join(home, 'update-result'), `result=${r.result}\nversion=${r.version}\nreason=${(r.reason ?? '').replace(/\n/g, ' ')}\n`);
}

export function currentSlot(home: string): Slot | null {
  try {
    const target = readlinkSync(join(home, 'current'));
    const slot = basename(target);
    return slot === 'a' || slot === 'b' ? slot : null;
  } catch {
    return null;
  }
}

/** Points `current` at `slot` atomically (a new symlink renamed over the old one). */
export function switchCurrent(home: string, slot: Slot): void {
  const tmp = join(home, 'current.tmp');
  rmSync(tmp, { force: true });
  symlinkSync(join('slots', slot), tmp);
  renameSync(tmp, join(home, 'current'));
  fsyncPath(home);
}
