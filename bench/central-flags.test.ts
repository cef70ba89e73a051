/**
 * `npm run bench:central` measures central as it is deployed: the V8 flags its script gives are the ones
 * central's Deployment gives in NODE_OPTIONS (deploy/kubernetes/base/central.yaml), so a change to one that
 * forgets the other fails here instead of quietly benchmarking something nobody runs.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

const read = (path: string): string => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const v8Flags = (options: string): string[] => options.split(/\s+/).filter((f) => f.startsWith('--') && f !== '--');

describe('bench:central', () => {
  it("runs with the V8 flags central's Deployment gives it", () => {
    const script: string = JSON.parse(read('package.json')).scripts['bench:central'];
    const benchFlags = v8Flags(/NODE_OPTIONS="([^"$]*)/.exec(script)?.[1] ?? '');
    const deployment = parseAllDocuments(read('deploy/kubernetes/base/central.yaml')).map((d) => d.toJS()).find((d) => d?.kind === 'Deployment');
    const env: { name: string; value?: string }[] = deployment.spec.template.spec.containers.find((c: { name: string }) => c.name === 'central').env;
    const deployedFlags = v8Flags(env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '');
    expect(benchFlags.length).toBeGreaterThan(0);
    // The heap limit is the pod's business; every flag that shapes how the heap collects is in both.
    const shaping = (flags: string[]) => flags.filter((f) => !f.startsWith('--max-old-space-size'));
    expect(shaping(benchFlags)).toEqual(shaping(deployedFlags));
  });
});
