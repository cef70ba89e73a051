/**
 * What a harness agent leaves in its folder for the harness to read: the configuration it was started with and
 * the journal of every bin it accepted (see agent-process.ts for why the journal is complete).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bin } from '../protocol/index.ts';
import type { Layout } from './workload.ts';

export interface AgentProcessConfig {
  layout: Layout;
  agent: number;
  dir: string;
  mqtt_url: string;
  password: string;
  /** Real time at which minute 0 is due; minute m is generated at start_ms + m × pace_ms (or later). */
  start_ms: number;
  pace_ms: number;
}

export const journalPath = (dir: string): string => join(dir, 'journal.jsonl');

/** The bins in an agent's journal, each once by (device_id, seq), added to `into`. */
export function readJournal(dir: string, into: Map<string, Bin>): void {
  const file = journalPath(dir);
  if (!existsSync(file)) return;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const bin = JSON.parse(line) as Bin;
    into.set(`${bin.device_id}/${bin.seq}`, bin);
  }
}
