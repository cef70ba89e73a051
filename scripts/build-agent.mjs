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

// Young generation of 1 MB instead of 16 (an agent allocates little and briefly); one V8 worker thread instead
// of one per core, each with its own malloc arena; and no optimising compiler (TurboFan): its code pages in the
// node binary, its compilation zones and its optimised code are about 6 MB of a 65 MB agent. An agent's work is a
// few samples a second, which the baseline compiler handles with less CPU than TurboFan spends compiling; what
// it gives up is speed on very large feed documents (docs/benchmarks.md: TMDD parsing at about a third of the
// speed). A board polling a statewide feed can run `node --max-semi-space-size=1 wacoflow-agent.mjs …` instead.
const NODE_FLAGS = '--max-semi-space-size=1 --v8-pool-size=1 --no-opt';

/** Resolves zod's locale index (every language) to English only; zod configures English itself. */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => (args.importer.includes('/node_modules/zod/') ? { path: 'zod-locales', namespace: 'wacoflow-stub' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'wacoflow-stub' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

/**
 * mqtt.js transports the agent never uses (its config accepts only mqtt:// and mqtts://): WebSockets (the ws
 * package) and SOCKS proxies (socks, ip-address, smart-buffer). Each becomes a module that says so if called.
 */
const mqttUnusedTransports = {
  name: 'mqtt-unused-transports',
  setup(b) {
    b.onResolve({ filter: /^\.\/(ws|socks)$/ }, (args) =>
      args.importer.includes('/node_modules/mqtt/build/lib/connect/') ? { path: args.path.slice(2), namespace: 'wacoflow-unused' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'wacoflow-unused' }, (args) => ({
      contents: `const unused = () => { throw new Error('the agent bundle has no MQTT ${args.path} transport; use mqtt:// or mqtts://'); };
module.exports = { __esModule: true, default: unused, streamBuilder: unused, browserStreamBuilder: unused };`,
      loader: 'js',
    }));
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
  // readable-stream is a copy of Node's own streams for browsers; on Node the built-in ones serve mqtt.js.
  alias: { 'readable-stream': 'node:stream' },
  plugins: [zodEnglishOnly, mqttUnusedTransports],
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
console.log(`${outfile} (wacoflow ${version})`);
