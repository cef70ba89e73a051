/**
 * The device registry on disk: one JSON file, written atomically (temporary file, fsync, rename) by
 * `wacoflow devices …`, and re-read by a running gateway when it changes, so a device disabled or rotated takes
 * effect without a restart. Secrets are never stored: only their scrypt hashes.
 */
import { openSync, closeSync, fsyncSync, readFileSync, renameSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import type { DeviceRecord, DeviceRegistry } from './devices.ts';

const RecordSchema = z.object({
  device_id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/).max(64),
  site: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/).max(64),
  enabled: z.boolean(),
  role: z.enum(['device', 'operator']).default('device'),
  secret_hash: z.string().startsWith('scrypt$'),
  created_ms: z.number().int(),
  updated_ms: z.number().int(),
});
const FileSchema = z.object({ v: z.literal(1), devices: z.array(RecordSchema) });
export type StoredDevice = z.infer<typeof RecordSchema>;

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
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ v: 1, devices }, null, 2)}\n`, { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
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
