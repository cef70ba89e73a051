/**
 * A child process of this one whose output goes to a log file and is watched: for a readiness line, for the
 * last line of a kind. The fault harness runs its gateway, central instances and agents with it, and the load
 * test its gateway and central.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Proc {
  readonly child: ChildProcess;
  private output = '';

  readonly name: string;

  constructor(name: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env) {
    this.name = name;
    this.child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(logFile, { flags: 'a' });
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-64_000);
      log.write(d);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.child.on('exit', () => log.end());
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last line starting with `prefix`, if any. */
  last(prefix: string): string | null {
    const i = this.output.lastIndexOf(`\n${prefix}`);
    const from = i >= 0 ? i + 1 : this.output.startsWith(prefix) ? 0 : -1;
    if (from < 0) return null;
    const end = this.output.indexOf('\n', from);
    return end < 0 ? null : this.output.slice(from + prefix.length, end);
  }

  /** The last whole line holding `text`, if any (its JSON, for a logged line). */
  lineWith(text: string): string | null {
    const at = this.output.lastIndexOf(text);
    if (at < 0) return null;
    const end = this.output.indexOf('\n', at);
    return end < 0 ? null : this.output.slice(this.output.lastIndexOf('\n', at) + 1, end);
  }

  /** The process's pid (it has one from the start: spawn failing ends the process at once). */
  get pid(): number {
    return this.child.pid!;
  }

  async ready(text: string, timeout_ms = 60_000): Promise<this> {
    const deadline = Date.now() + timeout_ms;
    while (!this.output.includes(text)) {
      if (!this.alive) throw new Error(`${this.name} exited before it was ready:\n${this.output.slice(-2_000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${timeout_ms} ms:\n${this.output.slice(-2_000)}`);
      await sleep(50);
    }
    return this;
  }

  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill(sig);
    await Promise.race([exited, sleep(20_000).then(() => this.child.kill('SIGKILL'))]);
  }
}
