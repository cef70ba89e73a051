/**
 * The device registry on disk: one JSON file, written atomically (platform/durable-file.ts) by
 * `wacoflow devices …`, and re-read by a running gateway when it changes, so a device disabled or rotated takes
 * effect without a restart. Secrets are never stored: only their scrypt hashes.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { writeFileDurably } from '../../platform/durable-file.ts';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { hashSecret, type DeviceRecord, type DeviceRegistry } from './devices.ts';

/** A device id (also its MQTT clientId, username and a topic level) and a site: at most 64 characters each. */
export const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
export const SITE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Refuses, naming the option, an id the registry could not hold. */
export function checkRegistryId(option: string, value: string, kind: 'device' | 'site'): void {
  const [pattern, allowed] = kind === 'device' ? [DEVICE_ID, '. _ : -'] : [SITE_ID, '. _ -'];
  if (!pattern.test(value) || value.length > 64) throw new WacoflowError(ERR.CONFIG, `${option} "${value}": use letters, digits and ${allowed} (at most 64, starting with a letter or digit)`);
}

const RecordSchema = z.object({
  device_id: z.string().regex(DEVICE_ID).max(64),
  site: z.string().regex(SITE_ID).max(64),
  enabled: z.boolean(),
  role: z.enum(['device', 'operator']).default('device'),
  secret_hash: z.string().startsWith('scrypt$'),
  created_ms: z.number().int(),
  updated_ms: z.number().int(),
});
const FileSchema = z.object({ v: z.literal(1), devices: z.array(RecordSchema) });
export type StoredDevice = z.infer<typeof RecordSchema>;

/** A new, enabled registry entry for a device and its secret (stored as its scrypt hash). */
export async function newStoredDevice(d: { device_id: string; site: string; secret: string; role?: 'device' | 'operator' }, now_ms = Date.now()): Promise<StoredDevice> {
  return { device_id: d.device_id, site: d.site, enabled: true, role: d.role ?? 'device', secret_hash: await hashSecret(d.secret), created_ms: now_ms, updated_ms: now_ms };
}

export function readRegistryFile(path: string): StoredDevice[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new WacoflowError(ERR.CONFIG, `${path}: cannot read the device registry (${(err as NodeJS.ErrnoException).code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WacoflowError(ERR.CONFIG, `${path}: the device registry is not valid JSON; restore it from a backup`);
  }
  const r = FileSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new WacoflowError(ERR.CONFIG, `${path}: ${i.path.join('.')}: ${i.message}`);
  }
  return r.data.devices;
}

export function writeRegistryFile(path: string, devices: StoredDevice[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileDurably(path, `${JSON.stringify({ v: 1, devices }, null, 2)}\n`, 0o600);
}

/** A registry the gateway reads from the file, re-reading it when its modification time changes. */
export class FileDeviceRegistry implements DeviceRegistry {
  private readonly path: string;
  private devices = new Map<string, DeviceRecord>();
  private mtime = -1;

  constructor(path: string) {
    this.path = path;
    this.reload();
  }

  /** Re-reads the file if it changed; returns the devices that are no longer allowed to be connected. */
  reload(): string[] {
    const m = statSync(this.path, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (m === this.mtime) return [];
    this.mtime = m;
    const before = this.devices;
    this.devices = new Map(readRegistryFile(this.path).map((d) => [d.device_id, d]));
    return [...before.values()]
      .filter((d) => {
        const now = this.devices.get(d.device_id);
        return !now || !now.enabled || now.secret_hash !== d.secret_hash;
      })
      .map((d) => d.device_id);
  }

  get(device_id: string): DeviceRecord | undefined {
    return this.devices.get(device_id);
  }

  size(): number {
    return this.devices.size;
  }
}
