import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decode, encode, ProtocolError, SCHEMAS, tryDecode, type MessageKind } from './index.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const valid = (kind: string): unknown => JSON.parse(readFileSync(join(fixtures, 'valid', `${kind}.json`), 'utf8'));

function setPath(target: unknown, path: string, value: unknown, remove = false): void {
  const parts = path.split('.');
  let node = target as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) node = node[p] as Record<string, unknown>;
  const last = parts[parts.length - 1]!;
  if (remove) delete node[last];
  else node[last] = value;
}

describe('golden valid fixtures', () => {
  const files = readdirSync(join(fixtures, 'valid')).map((f) => f.replace(/\.json$/, ''));

  it('cover every message kind', () => {
    expect(files.sort()).toEqual(Object.keys(SCHEMAS).sort());
  });

  it.each(files)('%s decodes from bytes and round-trips through encode', (kind) => {
    const bytes = readFileSync(join(fixtures, 'valid', `${kind}.json`));
    const value = decode(kind as MessageKind, bytes);
    expect(value).toEqual(valid(kind));
    expect(decode(kind as MessageKind, encode(value))).toEqual(value);
  });

  it('decodes exactly the bytes of a view into a larger buffer (as a network read hands them over)', () => {
    const bytes = readFileSync(join(fixtures, 'valid', 'bin.json'));
    const frame = new Uint8Array(bytes.length + 16).fill(0x7b); // '{' on either side: parsing past the view fails
    frame.set(bytes, 8);
    expect(decode('bin', frame.subarray(8, 8 + bytes.length))).toEqual(valid('bin'));
    expect(decode('bin', Buffer.from(frame.buffer, 8, bytes.length))).toEqual(valid('bin'));
  });
});

interface BadCase {
  name: string;
  kind: MessageKind;
  base?: string;
  text?: string;
  set?: Record<string, unknown>;
  unset?: string[];
  field: string;
  problem: string;
}

describe('bad input names the field and the problem', () => {
  const cases = JSON.parse(readFileSync(join(fixtures, 'invalid', 'cases.json'), 'utf8')) as BadCase[];

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    let input: unknown = c.text;
    if (c.base) {
      input = valid(c.base);
      for (const [path, value] of Object.entries(c.set ?? {})) setPath(input, path, value);
      for (const path of c.unset ?? []) setPath(input, path, undefined, true);
    }
    const r = tryDecode(c.kind, input);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(ProtocolError);
    expect(r.error.code).toBe('WF_ERR_PROTOCOL_DECODE');
    expect(r.error.field).toBe(c.field);
    expect(r.error.problem).toContain(c.problem);
    expect(r.error.message).toContain(c.kind);
    expect(() => decode(c.kind, input)).toThrow(ProtocolError);
  });

  it('never throws anything but ProtocolError, whatever the input', () => {
    const junk: unknown[] = [null, undefined, 0, 'null', '', Buffer.from([0xff, 0xfe]), [], { v: 1, bins: 'x' }, Symbol.iterator];
    for (const kind of Object.keys(SCHEMAS) as MessageKind[]) {
      for (const j of junk) {
        const r = tryDecode(kind, j);
        expect(r.ok).toBe(false);
        expect(() => decode(kind, j)).toThrow(ProtocolError);
      }
    }
  });
});
