/**
 * The devices allowed to connect, with their site and a slow hash of their secret (scrypt, per-device salt).
 * Secrets are never stored; `verify` compares in constant time.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (secret: string, salt: Buffer, keylen: number) => Promise<Buffer>;
const KEY_BYTES = 32;

export interface DeviceRecord {
  device_id: string;
  site: string;
  enabled: boolean;
  /** device: publishes its own data; operator: a tool that reads the fleet's topics and writes devices' config. */
  role?: 'device' | 'operator';
  /** `scrypt$<salt hex>$<hash hex>` */
  secret_hash: string;
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(secret, salt, KEY_BYTES);
  return `scrypt$${salt.toString('hex')}$${hash.toString('hex')}`;
}

export async function verifySecret(secret: string, secret_hash: string): Promise<boolean> {
  const [scheme, saltHex, hashHex] = secret_hash.split('$');
  if (scheme !== 'scrypt' || !saltHex || !hashHex) return false;
  const expected = Buffer.from(hashHex, 'hex');
  const actual = await scryptAsync(secret, Buffer.from(saltHex, 'hex'), expected.length);
  return timingSafeEqual(actual, expected);
}

export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}

export interface DeviceRegistry {
  get(device_id: string): DeviceRecord | undefined;
}

export class MemoryDeviceRegistry implements DeviceRegistry {
  private readonly devices = new Map<string, DeviceRecord>();

  add(record: DeviceRecord): void {
    this.devices.set(record.device_id, record);
  }

  get(device_id: string): DeviceRecord | undefined {
    return this.devices.get(device_id);
  }
}
