/** Every driver's sample.yaml must load, so an example in the repository can never go stale. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createInput, InputConfigSchema } from './registry.ts';

const here = import.meta.dirname;
const drivers = readdirSync(here).filter((d) => statSync(join(here, d)).isDirectory() && d !== 'serial');

describe('driver folders', () => {
  it.each(drivers)('%s has a README and a sample.yaml that validates and builds an input', (d) => {
    expect(readFileSync(join(here, d, 'README.md'), 'utf8').length).toBeGreaterThan(200);
    const config = InputConfigSchema.parse(parse(readFileSync(join(here, d, 'sample.yaml'), 'utf8')));
    expect(config.driver).toBe(d);
    expect(createInput(config).driver).toBe(d);
  });
});
