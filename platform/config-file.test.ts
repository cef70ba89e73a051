/** A config file's `${NAME}` values come from the environment; an unset one is an error naming file and field. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { expandEnv, loadConfigFile } from './config-file.ts';

const Schema = z.object({ database_url: z.string(), brokers: z.array(z.string()), port: z.number() });

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'wacoflow-config-')), 'central.yaml');
  writeFileSync(path, text);
  return path;
}

describe('config files and the environment', () => {
  afterEach(() => {
    delete process.env.WACOFLOW_TEST_PG_PASSWORD;
    delete process.env.WACOFLOW_TEST_BROKER;
  });

  it('replaces ${NAME} in strings, nested in lists too, and leaves numbers and $$ as written', () => {
    process.env.WACOFLOW_TEST_PG_PASSWORD = 's3cr$t';
    process.env.WACOFLOW_TEST_BROKER = 'kafka-0.kafka:9092';
    const path = file('database_url: postgres://central:${WACOFLOW_TEST_PG_PASSWORD}@pg:5432/wacoflow\nbrokers: ["${WACOFLOW_TEST_BROKER}", "cost$$1"]\nport: 8080\n');
    expect(loadConfigFile(path, Schema)).toEqual({
      database_url: 'postgres://central:s3cr$t@pg:5432/wacoflow',
      brokers: ['kafka-0.kafka:9092', 'cost$1'],
      port: 8080,
    });
  });

  it('names the file, the field and the variable when a variable is not set', () => {
    const path = file('database_url: ${WACOFLOW_TEST_PG_PASSWORD}\nbrokers: ["${WACOFLOW_TEST_BROKER}"]\nport: 1\n');
    expect(() => loadConfigFile(path, Schema)).toThrow(
      `${path}: database_url: the environment variable WACOFLOW_TEST_PG_PASSWORD is not set; set it, or write the value into the file\n` +
        `${path}: brokers.0: the environment variable WACOFLOW_TEST_BROKER is not set; set it, or write the value into the file`,
    );
  });

  it('refuses a ${ that starts no variable, instead of passing it on as text', () => {
    const path = file('database_url: postgres://u:${PGPASSWORD:-x}@db/w\nbrokers: ["${ B }"]\nport: 1\n');
    expect(() => loadConfigFile(path, Schema)).toThrow(`${path}: database_url: \${ starts no variable: write \${NAME} (letters, digits, underscores), or \$\${ for a literal \${`);
  });

  it('expands an empty variable to nothing, and text without a variable unchanged', () => {
    const unset: string[] = [];
    expect(expandEnv({ a: 'x${E}y', b: 'plain $HOME {x}', c: true }, { E: '' }, [], (_p, n) => unset.push(String(n)))).toEqual({ a: 'xy', b: 'plain $HOME {x}', c: true });
    expect(unset).toEqual([]);
  });
});
