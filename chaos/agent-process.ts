/**
 * One agent of the fault harness, as its own OS process: the real on-disk outbox and the real MQTT uplink, fed
 * by the seeded workload instead of detector drivers (those have their own tests). Its job here is to make
 * "accepted" precise, so the harness can say what was lost:
 *
 * - before minute m is generated, `cursor` is set past it (fsynced): a crash from here on skips minute m rather
 *   than generating it twice under new seqs, so no minute is ever accepted twice;
 * - the bins of minute m are appended to the outbox, which resolves once they are fsynced: accepted;
 * - they are then written to `journal.jsonl` (fsynced) before anything else can run, and after a restart every
 *   bin the outbox recovered is journalled again, so the journal holds every accepted bin, even when a SIGKILL
 *   landed between the outbox's fsync and the journal write.
 *
 * Configured by the CHAOS_AGENT environment variable (JSON, see AgentProcessConfig). Prints `STATUS {json}`
 * lines; SIGTERM stops it cleanly.
 */
import { appendFileSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { systemClock } from '../platform/clock.ts';
import type { Bin } from '../protocol/index.ts';
import { DEFAULT_OUTBOX, FileOutbox } from '../edge-agent/outbox/file-outbox.ts';
import { MqttUplink } from '../edge-agent/uplink/mqtt-uplink.ts';
import { journalPath, type AgentProcessConfig } from './journal.ts';
import { draftsFor, skewAt, type AgentLayout } from './workload.ts';

function durableWrite(path: string, text: string, append: boolean): void {
  if (append) appendFileSync(path, text);
  else {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function journal(dir: string, bins: Bin[]): void {
  if (bins.length > 0) durableWrite(journalPath(dir), bins.map((b) => JSON.stringify(b)).join('\n') + '\n', true);
}

/** The next minute to generate; 0 on the first start. */
function readCursor(path: string): number {
  try {
    return Number.parseInt(readFileSync(path, 'utf8'), 10) || 0;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.CHAOS_AGENT ?? '') as AgentProcessConfig;
  const { layout, dir } = config;
  const agent: AgentLayout = layout.agents[config.agent]!;
  const cursorFile = join(dir, 'cursor');
  const outbox = await FileOutbox.open({ ...DEFAULT_OUTBOX, dir: join(dir, 'outbox') }, () => Date.now());
  journal(dir, outbox.waiting());

  const logger = pino({ level: 'silent' });
  const uplink = new MqttUplink(
    {
      url: config.mqtt_url, site: 'waco', device_id: agent.device_id, password: config.password,
      max_bins_per_message: 50, max_inflight_messages: 4, ack_timeout_ms: 5_000, reconnect_ms: 300, keepalive_s: 30,
      live_window_ms: 0, backlog_bins_per_s: null,
    },
    { outbox, clock: systemClock, logger, takeDropped: () => ({}), restoreDropped: () => {} },
  );
  uplink.start();

  let minute = readCursor(cursorFile);
  const status = (): void => {
    const stats = outbox.stats(Date.now());
    process.stdout.write(`STATUS ${JSON.stringify({ minute, depth: stats.depth, acknowledged: uplink.acknowledged(), connected: uplink.connected() })}\n`);
  };
  const ticker = setInterval(status, 250);
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
    clearInterval(ticker);
    void uplink.stop().then(() => outbox.close()).then(() => process.exit(0));
  });

  while (minute < layout.minutes && !stopping) {
    const due = config.start_ms + minute * config.pace_ms;
    if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
    const m = minute;
    durableWrite(cursorFile, `${m + 1}\n`, false);
    const offset = skewAt(agent, m);
    const bins = await outbox.append(draftsFor(layout, agent, m), { device_id: agent.device_id, clock: { synced: offset === 0, offset_ms: offset } });
    journal(dir, bins);
    minute = m + 1;
    uplink.pump();
  }
  status();
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos agent failed: ${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
