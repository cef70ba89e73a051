/**
 * A whole agent in a child process, for the agent crash test: the on-disk outbox, a TMDD input and the MQTT
 * uplink, on a clock shared with the test (WACOFLOW_TEST_CLOCK = speedup,start_ms,real_anchor_ms). Prints
 * READY once started; the test kills it with SIGKILL or stops it with SIGTERM.
 */
import pino from 'pino';
import { scaledClock } from '../platform/clock.ts';
import { buildAgent } from './app.ts';
import { AgentConfigSchema } from './config.ts';
import { DEFAULT_OUTBOX, FileOutbox } from './outbox/file-outbox.ts';

const [speedup, start, anchor] = (process.env.WACOFLOW_TEST_CLOCK ?? '').split(',').map(Number);
const clock = scaledClock(speedup!, start, anchor);
const [dir, gatewayUrl, feedUrl] = process.argv.slice(2);
const outbox = await FileOutbox.open({ ...DEFAULT_OUTBOX, dir: dir! }, () => clock.now());
const agent = buildAgent(
  AgentConfigSchema.parse({
    device_id: 'agent-crash', site: 'waco', mqtt_url: gatewayUrl, mqtt_password: 'pw', reconnect_ms: 200, ack_timeout_ms: 3_000,
    // Simulated time runs 30x: the default 30 s close delay would leave a poll 1 s of real time, which a loaded
    // machine overruns (the sample then misses its sealed bin). 120 s gives it 4 s, as 30 s does on a board.
    close_delay_ms: 120_000,
    inputs: [{ driver: 'tmdd-http', name: 'feed', url: feedUrl, poll_interval_ms: 20_000, sample_interval_ms: 20_000 }],
  }),
  {
    clock, logger: pino({ level: 'silent' }), outbox, version: 'test', config_hash: 'test', clockState: () => ({ synced: true, offset_ms: 0 }),
    probe: { cpu_pct: () => 0, mem_rss_bytes: () => 0, temperature_c: async () => null, disk_free_bytes: async () => null },
  },
);
agent.start();
process.on('SIGTERM', () => void agent.stop().then(() => process.exit(0)));
process.stdout.write('READY\n');
