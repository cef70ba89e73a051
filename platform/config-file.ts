/**
 * Reading a YAML config file into a schema, with every problem reported at once as `FILE: field: problem`
 * (or `FILE:line:col` for YAML syntax), so a technician can fix the file in one go.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ERR, WacoflowError } from './errors.ts';

export function loadConfigFile<T extends z.ZodType>(file: string, schema: T): z.infer<T> {
  return loadConfigFileAndSource(file, schema).config;
}

/** The validated configuration and the file's content as written (before defaults), for layering over it. */
export function loadConfigFileAndSource<T extends z.ZodType>(file: string, schema: T): { config: z.infer<T>; source: Record<string, unknown> } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new WacoflowError(ERR.CONFIG, `${file}: cannot read the config file (${code ?? (err as Error).message}); check the path given to --config`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const at = e.linePos?.[0];
      return `${file}${at ? `:${at.line}:${at.col}` : ''}: YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
    });
    throw new WacoflowError(ERR.CONFIG, lines.join('\n'));
  }
  const source = (doc.toJS() ?? {}) as Record<string, unknown>;
  const r = schema.safeParse(source);
  if (r.success) return { config: r.data, source };
  const lines = r.error.issues.map((i) => `${file}: ${i.path.length ? i.path.map(String).join('.') : '(top level)'}: ${i.message}`);
  throw new WacoflowError(ERR.CONFIG, lines.join('\n'));
}
