/**
 * A child process for the power-cut test: runs the updater on an install home and kills itself with SIGKILL
 * (a power cut: nothing flushed, nothing cleaned up) right after the named install step.
 * Arguments: home, announcement (JSON), public key file, step.
 */
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { Updater, type InstallStep } from './updater.ts';

const [home, announcement, keyFile, killAt] = process.argv.slice(2) as [string, string, string, InstallStep];
const updater = new Updater(
  { install: { home, slot: 'a' }, running_version: '0.1.0', arch: 'x64', device_id: 'pi-1', site: 'waco', public_key: createPublicKey(readFileSync(keyFile)), health_timeout_ms: 5_000, download_timeout_ms: 10_000 },
  {
    logger: pino({ level: 'silent' }),
    now: () => Date.now(),
    onStep: (step) => {
      if (step === killAt) process.kill(process.pid, 'SIGKILL');
    },
    onSwitched: () => process.exit(0),
  },
);
updater.offer(Buffer.from(announcement));
await updater.idle();
