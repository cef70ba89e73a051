/**
 * Turning command-line options and environment variables into a validated config, with every problem reported
 * at once as one line each: the option (and its variable), what was wrong, and what to do.
 */
import type { z } from 'zod';
import { ERR, WacoflowError } from '../platform/errors.ts';

export interface Setting {
  /** Config key (snake_case, as in the schema). */
  key: string;
  flag: string;
  env?: string;
}

export function describeSetting(settings: Setting[], key: string): string {
  const s = settings.find((x) => x.key === key);
  if (!s) return key;
  return s.env ? `${s.flag} (or ${s.env})` : s.flag;
}

/** Parses an option's text as an integer, leaving anything else for the schema to report. */
export function int(value: string): number | string {
  return /^-?\d+$/.test(value.trim()) ? Number(value) : value;
}

export function num(value: string): number | string {
  const n = Number(value);
  return value.trim() !== '' && Number.isFinite(n) ? n : value;
}

export function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

export function validate<T extends z.ZodType>(schema: T, raw: Record<string, unknown>, settings: Setting[]): z.infer<T> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const key = String(i.path[0] ?? '');
    const got = key in raw ? ` (got ${JSON.stringify(raw[key])})` : '';
    return `${describeSetting(settings, key)}: ${i.message}${got}`;
  });
  throw new WacoflowError(ERR.CONFIG, lines.join('\n'));
}
