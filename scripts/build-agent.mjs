// Bundles the edge agent into dist/wacoflow-agent.mjs: one file for boards, plain Node, no TypeScript tooling.
// serialport stays external: its native binding is found through its own package (npm install serialport).
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
await build({
  entryPoints: [new URL('../edge-agent/main.ts', import.meta.url).pathname],
  outfile: new URL('../dist/wacoflow-agent.mjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['serialport'],
  define: { __WACOFLOW_VERSION__: JSON.stringify(version) },
  // Some dependencies still call require(); give the ES module bundle one.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  logLevel: 'warning',
});
console.log(`dist/wacoflow-agent.mjs (wacoflow ${version})`);
