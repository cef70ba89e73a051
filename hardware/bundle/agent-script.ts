/**
 * The agent as one ES module a board runs with plain Node: every dependency bundled, no TypeScript tooling in
 * memory, and the serial port's native binding beside it as `native/serialport.node`.
 *
 * Memory on a board is what shapes this build (docs/benchmarks.md, edge agent):
 * - whitespace and syntax are minified, names are not, so a stack trace from the field still reads;
 * - zod's error messages in 40 languages are left out (the agent speaks English): that is half of zod's code,
 *   and without their non-Latin text the whole bundle is ASCII, which V8 keeps at one byte per character;
 * - the first line runs the file with V8 settings for a small resident set (NODE_FLAGS below), so
 *   `./wacoflow-agent.mjs --config agent.yaml` starts it with them.
 */
import { chmodSync, copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { Arch } from '../../protocol/index.ts';

const root = join(import.meta.dirname, '..', '..');

/**
 * Young generation of 1 MB instead of 16 (an agent allocates little and briefly); one V8 worker thread instead
 * of one per core, each with its own malloc arena; and no optimising compiler (TurboFan): its code pages in the
 * node binary, its compilation zones and its optimised code are about 6 MB of a 65 MB agent. An agent's work is
 * a few samples a second, which the baseline compiler handles with less CPU than TurboFan spends compiling; what
 * it gives up is speed on very large feed documents (docs/benchmarks.md: TMDD parsing at about a third of the
 * speed).
 */
export const NODE_FLAGS = ['--max-semi-space-size=1', '--v8-pool-size=1', '--no-opt'];

export const AGENT_SCRIPT = 'wacoflow-agent.mjs';
/** Where the bundle looks for serialport's native binding, relative to the script. */
export const SERIAL_NATIVE = 'native/serialport.node';

/** Resolves zod's locale index (every language) to English only; zod configures English itself. */
const zodEnglishOnly: Plugin = {
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
const mqttUnusedTransports: Plugin = {
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

/**
 * serialport finds its native binding at run time by searching its own package folder (node-gyp-build). In a
 * bundle there is no package folder: the binding is loaded from `native/serialport.node` beside the script,
 * through the script's own `require` (the banner's createRequire), and only when a serial input opens a port.
 */
const serialNativeBeside: Plugin = {
  name: 'serialport-native-beside',
  setup(b) {
    b.onLoad({ filter: /@serialport[\\/]bindings-cpp[\\/]dist[\\/]serialport-bindings\.js$/ }, () => ({
      contents: `exports.binding = require('./${SERIAL_NATIVE}');`,
      loader: 'js',
    }));
    b.onResolve({ filter: /^\.\/native\/serialport\.node$/ }, (args) => ({ path: args.path, external: true }));
  },
};

/** serialport's prebuilt binding for Linux on `arch` (glibc, as Raspberry Pi OS and Debian use). */
export function serialPrebuild(arch: Arch): string {
  const pkg = dirname(createRequire(join(root, 'package.json')).resolve('@serialport/bindings-cpp/package.json'));
  return arch === 'arm64'
    ? join(pkg, 'prebuilds', 'linux-arm64', '@serialport+bindings-cpp.armv8.glibc.node')
    : join(pkg, 'prebuilds', 'linux-x64', '@serialport+bindings-cpp.glibc.node');
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Writes `dir/wacoflow-agent.mjs` (executable: its first line starts Node with NODE_FLAGS) and
 * `dir/native/serialport.node` for `arch`.
 */
export async function buildAgentScript(dir: string, arch: Arch, version = packageVersion()): Promise<string> {
  const outfile = join(dir, AGENT_SCRIPT);
  await build({
    entryPoints: [join(root, 'edge-agent', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    define: { __WACOFLOW_VERSION__: JSON.stringify(version) },
    // Some dependencies still call require(); give the ES module bundle one.
    banner: { js: `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}\nimport { createRequire } from 'node:module'; const require = createRequire(import.meta.url);` },
    minifyWhitespace: true,
    minifySyntax: true,
    // readable-stream is a copy of Node's own streams for browsers; on Node the built-in ones serve mqtt.js.
    alias: { 'readable-stream': 'node:stream' },
    plugins: [zodEnglishOnly, mqttUnusedTransports, serialNativeBeside],
    logLevel: 'warning',
  });
  chmodSync(outfile, 0o755);
  mkdirSync(join(dir, 'native'), { recursive: true });
  copyFileSync(serialPrebuild(arch), join(dir, SERIAL_NATIVE));
  return outfile;
}
