/** A real serial line between a simulated device and an agent (and in tests): two pseudo-terminals joined by socat, as a cable between two devices. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PtyPair {
  a: string;
  b: string;
  close(): void;
}

export function socatAvailable(): boolean {
  return ['/usr/bin/socat', '/usr/local/bin/socat'].some((p) => existsSync(p));
}

export async function ptyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'wacoflow-pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const child: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
  const deadline = Date.now() + 5_000;
  while (!(existsSync(a) && existsSync(b))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('socat did not create the PTY pair');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { a, b, close: () => child.kill('SIGTERM') };
}
