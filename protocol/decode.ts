/**
 * Decoding of every v1 message. Input may be bytes, text or an already-parsed value; the result is a typed
 * message or a `ProtocolError` naming the field and the problem. Nothing here throws anything else.
 */
import type { z } from 'zod';
import { ProtocolError } from './errors.ts';
import { AlertSchema } from './v1/alert.ts';
import { BinBatchSchema, BinSchema } from './v1/bin.ts';
import { checkBin, checkBinBatch } from './v1/bin-check.ts';
import { DeadLetterSchema } from './v1/dead-letter.ts';
import { ConfigDocumentSchema, ReleaseAnnouncementSchema } from './v1/fleet-control.ts';
import { DeviceCommandSchema, HeartbeatSchema, StatusSchema } from './v1/heartbeat.ts';
import { SampleSchema } from './v1/sample.ts';
import { WindowBatchSchema, WindowResultSchema } from './v1/window.ts';

export const SCHEMAS = {
  sample: SampleSchema,
  bin: BinSchema,
  bin_batch: BinBatchSchema,
  heartbeat: HeartbeatSchema,
  device_command: DeviceCommandSchema,
  status: StatusSchema,
  config_document: ConfigDocumentSchema,
  release_announcement: ReleaseAnnouncementSchema,
  window: WindowResultSchema,
  window_batch: WindowBatchSchema,
  alert: AlertSchema,
  dead_letter: DeadLetterSchema,
} as const;

export type MessageKind = keyof typeof SCHEMAS;
export type Message<K extends MessageKind> = z.infer<(typeof SCHEMAS)[K]>;
export type DecodeResult<K extends MessageKind> = { ok: true; value: Message<K> } | { ok: false; error: ProtocolError };

/**
 * Plain checks for the kinds every bin passes through, tried before the schema: each returns what the schema
 * would, or undefined, and then the schema decides and names the problem (v1/bin-check.ts).
 */
const FAST: { [K in MessageKind]?: (value: unknown) => Message<K> | undefined } = {
  bin: checkBin,
  bin_batch: checkBinBatch,
};

function toValue(kind: string, input: unknown): unknown {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) return input;
  // A view on the same bytes, never a copy: Buffer.from(buffer) would copy every payload before parsing it.
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(kind, '', `not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

/** Decodes without throwing. */
export function tryDecode<K extends MessageKind>(kind: K, input: unknown): DecodeResult<K> {
  let value: unknown;
  try {
    value = toValue(kind, input);
  } catch (err) {
    return { ok: false, error: err as ProtocolError };
  }
  const fast = FAST[kind]?.(value);
  if (fast !== undefined) return { ok: true, value: fast as Message<K> };
  const parsed = SCHEMAS[kind].safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data as Message<K> };
  const [first, ...rest] = parsed.error.issues;
  const field = first ? first.path.map(String).join('.') : '';
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length === 1 ? '' : 's'})` : '';
  return { ok: false, error: new ProtocolError(kind, field, `${first?.message ?? 'invalid'}${more}`) };
}

/** Decodes or throws a `ProtocolError` (code `WF_ERR_PROTOCOL_DECODE`). */
export function decode<K extends MessageKind>(kind: K, input: unknown): Message<K> {
  const r = tryDecode(kind, input);
  if (!r.ok) throw r.error;
  return r.value;
}

export function encode(message: unknown): Buffer {
  return Buffer.from(JSON.stringify(message), 'utf8');
}

/** JSON made once for messages that will not change again (frozenJson), kept while the object lives. */
const madeJson = new WeakMap<object, string>();

/**
 * A message's JSON, made once and kept for other writers of the same object: a window result goes to the
 * event stream and to the log, and both write the same text. Only for a message nobody changes afterwards
 * (an agent's heartbeat, say, is updated in place and must be made anew each time: use `encode`).
 */
export function frozenJson(message: object): string {
  let json = madeJson.get(message);
  if (json === undefined) madeJson.set(message, (json = JSON.stringify(message)));
  return json;
}

/** The JSON frozenJson made for this object, else made now and not kept. */
export function jsonOf(message: unknown): string {
  return (typeof message === 'object' && message !== null ? madeJson.get(message) : undefined) ?? JSON.stringify(message);
}
