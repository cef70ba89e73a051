/**
 * The container image without a container engine: the build context .dockerignore lets through, and the
 * Dockerfile's build stage run step by step in a clean directory (its COPY and RUN instructions, as written:
 * `npm ci --omit=dev`, then the CLI), then the image's entrypoint started from the result as
 * `wacoflow gateway --help`, `central --help` and `agent --help`. What the image runs is what this builds.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

/** .dockerignore as Docker reads it: in order, the last pattern matching a path or one of its parents decides. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negated = l.startsWith('!');
      const glob = posix.normalize(l.slice(negated ? 1 : 0)).replace(/^\/+/, '');
      const source = glob
        .split(/(\*\*\/|\/\*\*|\*\*|\*|\?)/)
        .map((part) => ({ '**/': '(?:.*/)?', '/**': '(?:/.*)?', '**': '.*', '*': '[^/]*', '?': '[^/]' })[part] ?? part.replace(/[.+^${}()|[\]\\]/g, '\\$&'))
        .join('');
      return { negated, re: new RegExp(`^${source}$`) };
    });
  return (path) => {
    const parts = path.split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of rules) if (candidates.some((c) => r.re.test(c))) excluded = !r.negated;
    return excluded;
  };
}

/** The files a build on a fresh clone sends as its context. */
function context(): string[] {
  const ignored = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  return files.filter((f) => existsSync(join(ROOT, f)) && !ignored(f));
}

interface Instruction {
  op: string;
  args: string;
}

/** The Dockerfile's stages: instructions in order, line continuations joined, comments and parser directives dropped. */
function stages(text: string): Instruction[][] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const out: Instruction[][] = [];
  for (const l of lines) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(l)!;
    if (op!.toUpperCase() === 'FROM') out.push([]);
    out.at(-1)?.push({ op: op!.toUpperCase(), args: args! });
  }
  return out;
}

describe('the container image', () => {
  const files = context();

  it('takes in every file the CLI loads, and no test, fixture or developer note', async () => {
    const graph = await build({
      entryPoints: [join(ROOT, 'cli', 'main.ts'), join(ROOT, 'loadtest', 'agents-process.ts')],
      bundle: true, platform: 'node', format: 'esm', packages: 'external', write: false, metafile: true, outdir: tmpdir(), absWorkingDir: ROOT, logLevel: 'silent',
    });
    const inContext = new Set(files);
    const loaded = Object.keys(graph.metafile.inputs);
    expect(loaded.length).toBeGreaterThan(100);
    expect(loaded.filter((f) => !inContext.has(f))).toEqual([]);
    // Files read at run time rather than imported.
    for (const asset of ['bin/wacoflow.js', 'package.json', 'package-lock.json', 'central/dashboard/index.html', 'central/dashboard/app.js', 'simulators/waco/demand-profile.json', 'simulators/waco/network.yaml']) {
      expect(inContext.has(asset), asset).toBe(true);
    }
    expect(files.filter((f) => /\.test\.ts$|\/fixtures\/|(^|\/)README\.md$|^(docs|bench|chaos|test|deploy|scripts|data)\//.test(f))).toEqual([]);
  });

  it("runs the Dockerfile's build steps in a clean directory and starts wacoflow gateway, central and agent from them", () => {
    const [buildStage, runStage] = stages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
    const workdir = buildStage!.find((i) => i.op === 'WORKDIR')!.args;
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-image-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const i of buildStage!) {
        if (i.op === 'ENV') for (const [, k, v] of i.args.matchAll(/(\w+)=(\S+)/g)) env[k!] = v!;
        if (i.op === 'COPY') {
          expect(i.args, 'the build stage copies from the context only').not.toMatch(/--from/);
          const parts = i.args.split(/\s+/);
          const dest = parts.pop()!;
          for (const src of parts) {
            const chosen = src === '.' ? files : files.filter((f) => f === src);
            expect(chosen.length, `COPY ${src}: in the context`).toBeGreaterThan(0);
            for (const f of chosen) {
              const to = dest === '.' || dest === './' ? join(dir, f) : join(dir, dest, posix.basename(f));
              mkdirSync(dirname(to), { recursive: true });
              cpSync(join(ROOT, f), to);
            }
          }
        }
        if (i.op === 'RUN') execFileSync('sh', ['-c', i.args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      }
      // Only runtime dependencies were installed (tsx, and the esbuild it compiles with, are runtime ones).
      expect(existsSync(join(dir, 'node_modules', 'tsx'))).toBe(true);
      for (const dev of ['vitest', 'typescript', 'playwright-core', 'kubernetes-models']) expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false);

      // The image's entrypoint, its paths under the build stage's WORKDIR, with this machine's node.
      const entrypoint = JSON.parse(runStage!.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
      expect(entrypoint[0]).toMatch(/\/node$/);
      const script = join(dir, posix.relative(workdir, entrypoint[1]!));
      expect(runStage!.find((i) => i.op === 'USER')?.args).toMatch(/^[1-9]\d*/); // not root
      // The version label says the release the sources are.
      const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
      expect(runStage!.find((i) => i.op === 'ARG' && i.args.startsWith('VERSION='))?.args).toBe(`VERSION=${version}`);
      for (const command of ['gateway', 'central', 'agent']) {
        const help = execFileSync(process.execPath, [script, command, '--help'], { cwd: tmpdir(), encoding: 'utf8' });
        expect(help).toContain(`Usage: wacoflow ${command}`);
        expect(help).toContain('--config');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
