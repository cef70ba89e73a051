// Bundles the edge agent into dist/wacoflow-agent.mjs: one file for boards, plain Node, no TypeScript tooling.
// serialport stays external: its native binding is found through its own package (npm install serialport).
//
// Memory on a board is what shapes this build (docs/benchmarks.md, edge agent):
// - whitespace and syntax are minified, names are not, so a stack trace from the field still reads;
// - zod's error messages in 40 languages are left out (the agent speaks English): that is half of zod's code,
//   and without their non-Latin text the whole bundle is ASCII, which V8 keeps at one byte per character;
// - the first line runs the file with V8 settings for a small resident set (see NODE_FLAGS below), so
//   `./wacoflow-agent.mjs --config agent.yaml` starts it with them.
import { chmodSync, readFileSync } from 'node:fs';
import { build } from 'esbuild';

// Young generation of 1 MB instead of 16 (an agent allocates little and briefly), and one V8 worker thread
// instead of one per core, each with its own malloc arena.
const NODE_FLAGS = '--max-semi-space-size=1 --v8-pool-size=1';

/** Resolves zod's locale index (every language) to English only; zod configures English itself. */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => (args.importer.includes('/node_modules/zod/') ? { path: 'zod-locales', namespace: 'wacoflow-stub' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'wacoflow-stub' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
// An output path may be given (tests build their own copy); by default dist/wacoflow-agent.mjs.
const outfile = process.argv[2] ?? new URL('../dist/wacoflow-agent.mjs', import.meta.url).pathname;
await build({
  entryPoints: [new URL('../edge-agent/main.ts', import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['serialport'],
  define: { __WACOFLOW_VERSION__: JSON.stringify(version) },
  // Some dependencies still call require(); give the ES module bundle one.
  banner: { js: `#!/usr/bin/env -S node ${NODE_FLAGS}\nimport { createRequire } from 'node:module'; const require = createRequire(import.meta.url);` },
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [zodEnglishOnly],
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
console.log(`${outfile} (wacoflow ${version})`);
