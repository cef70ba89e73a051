/**
 * Reading a YAML config file into a schema, with every problem reported at once as `FILE: field: problem`
 * (or `FILE:line:col` for YAML syntax), so a technician can fix the file in one go.
 *
 * A string value may name environment variables as `${NAME}` (`$$` for a literal `$`): a secret such as the
 * database URL then comes from the process's environment (a Kubernetes Secret, a systemd credential) while the
 * rest of the file stays in plain configuration. A variable that is not set is an error naming the field.
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
  const missing: string[] = [];
  const source = expandEnv(doc.toJS() ?? {}, process.env, [], (path, name) =>
    missing.push(
      name === null
        ? `${file}: ${path.join('.') || '(top level)'}: \${ starts no variable: write \${NAME} (letters, digits, underscores), or \$\${ for a literal \${`
        : `${file}: ${path.join('.') || '(top level)'}: the environment variable ${name} is not set; set it, or write the value into the file`,
    ),
  ) as Record<string, unknown>;
  if (missing.length > 0) throw new WacoflowError(ERR.CONFIG, missing.join('\n'));
  const r = schema.safeParse(source);
  if (r.success) return { config: r.data, source };
  const lines = r.error.issues.map((i) => `${file}: ${i.path.length ? i.path.map(String).join('.') : '(top level)'}: ${i.message}`);
  throw new WacoflowError(ERR.CONFIG, lines.join('\n'));
}

const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|(\$\{)/g;

/**
 * Every string in `value` with `${NAME}` replaced from `env`; `unset` is told of each variable that is not set,
 * and (with a null name) of each `${` that starts no variable, such as `${NAME:-default}`.
 */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, path: (string | number)[], unset: (path: (string | number)[], name: string | null) => void): unknown {
  if (typeof value === 'string') {
    return value.replace(VARIABLE, (whole, name: string | undefined, malformed: string | undefined) => {
      if (malformed !== undefined) {
        unset(path, null);
        return whole;
      }
      if (name === undefined) return '$';
      const v = env[name];
      if (v === undefined) unset(path, name);
      return v ?? whole;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, [...path, i], unset));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, [...path, k], unset)]));
  }
  return value;
}
