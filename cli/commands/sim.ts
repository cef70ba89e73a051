/**
 * `wacoflow sim`: the composition root of simulator mode. The only place that reads the environment, installs
 * signal handlers and prints to the terminal for this process.
 */
import { Command, Option } from 'commander';
import { EmbeddedConfigSchema } from '../../embedded/config.ts';
import { scaledClock } from '../../platform/clock.ts';
import { createLogger, type LogLevel } from '../../platform/logger.ts';
import { int, list, num, validate, type Setting } from '../options.ts';
import { fail, VERSION } from '../run.ts';
import { FAULTS } from '../../simulators/faults.ts';

/** Above this the simulated SS105 multidrop line (ten sensors at 9,600 baud) cannot be polled each interval. */
const SERIAL_MAX_SPEEDUP = 40;

const SETTINGS: Setting[] = [
  { key: 'speedup', flag: '--speedup', env: 'WACOFLOW_SPEEDUP' },
  { key: 'http_host', flag: '--http-host', env: 'WACOFLOW_HTTP_HOST' },
  { key: 'http_port', flag: '--http-port', env: 'WACOFLOW_HTTP_PORT' },
  { key: 'mqtt_port', flag: '--mqtt-port', env: 'WACOFLOW_MQTT_PORT' },
  { key: 'feed_port', flag: '--feed-port' },
  { key: 'kafka_brokers', flag: '--kafka-brokers', env: 'WACOFLOW_KAFKA_BROKERS' },
  { key: 'database_url', flag: '--database-url', env: 'WACOFLOW_DATABASE_URL' },
  { key: 'data_dir', flag: '--data-dir', env: 'WACOFLOW_DATA_DIR' },
  { key: 'grace_ms', flag: '--grace-ms' },
  { key: 'start', flag: '--start' },
  { key: 'seed', flag: '--seed' },
  { key: 'incidents', flag: '--incidents' },
  { key: 'network', flag: '--network' },
  { key: 'stations', flag: '--stations' },
  { key: 'engine', flag: '--engine' },
  { key: 'faults', flag: '--fault' },
  { key: 'weather', flag: '--weather' },
  { key: 'game_kickoff_min', flag: '--game-kickoff' },
  { key: 'history_days', flag: '--history-days' },
  { key: 'bin_partitions', flag: '--bin-partitions' },
];

export function simCommand(): Command {
  return new Command('sim')
    .summary('run the whole system in one process on simulated Waco detectors')
    .description(
      'Runs the simulated Waco network — 80 detector stations on I-35, Loop 340, SH 6, US 84 and the arterials, and 22 ' +
        'signalised intersections — on every driver: TMDD 3.03 and Iowa SIMS feeds over HTTP, Wavetronix SS105 and SS125 ' +
        'sensors on serial lines (PTY pairs; needs socat), and intersection cameras. Edge agents read them (real MQTT over ' +
        'loopback) and feed the gateway with its embedded broker, central with 5-minute windows, storage, and the HTTP API. ' +
        'By default everything is in memory: the in-process log instead of Kafka and PGlite instead of PostgreSQL. ' +
        'Give --kafka-brokers and --database-url to run the same pipeline on real services.\n\n' +
        'Environment: WACOFLOW_SPEEDUP, WACOFLOW_HTTP_HOST, WACOFLOW_HTTP_PORT, WACOFLOW_MQTT_PORT, WACOFLOW_KAFKA_BROKERS, ' +
        'WACOFLOW_DATABASE_URL, WACOFLOW_DATA_DIR and WACOFLOW_LOG_LEVEL set the options of the same name; an option given ' +
        'on the command line wins.',
    )
    .option('--speedup <n>', 'simulated time runs n times faster than real time (1–1000)', process.env.WACOFLOW_SPEEDUP ?? '1')
    .option('--http-host <host>', 'address the API binds to', process.env.WACOFLOW_HTTP_HOST ?? '127.0.0.1')
    .option('--http-port <port>', 'API and /metrics port (0 = any free port)', process.env.WACOFLOW_HTTP_PORT ?? '8080')
    .option('--mqtt-port <port>', 'embedded MQTT broker port (0 = any free port)', process.env.WACOFLOW_MQTT_PORT ?? '0')
    .option('--feed-port <port>', 'simulated TMDD feed port (0 = any free port)', '0')
    .option('--kafka-brokers <list>', 'comma-separated host:port list: use Kafka instead of the in-process log')
    .option('--database-url <url>', 'postgres:// URL: use PostgreSQL instead of PGlite')
    .option('--data-dir <dir>', 'keep PGlite and agent state in this directory between runs (default: memory only)')
    .option('--start <time>', 'when simulated time begins, ISO 8601 with offset, within a day of now (default: now), e.g. 2026-12-05T17:00-06:00')
    .option('--grace-ms <ms>', 'simulated ms after a window ends before it becomes final', '60000')
    .option('--seed <text>', 'traffic model seed: the same seed gives the same traffic', 'waco')
    .addOption(new Option('--incidents <on|off>', 'schedule two incidents (I-35 at Baylor from minute 15, Valley Mills at Waco Dr from minute 30)').choices(['on', 'off']).default('on'))
    .addOption(new Option('--network <city|core>', 'the whole city, or the nine-station core on two TMDD feeds').choices(['city', 'core']).default('city'))
    .option('--stations <n>', "road stations to simulate, for sizing runs: the city's 80, then copies of its TMDD-fed roads on feeds and agents of their own")
    .addOption(
      new Option('--engine <model|sumo>', "where the detectors' numbers come from: the built-in traffic model, or Eclipse SUMO (installed separately) moving vehicles over the Waco network")
        .choices(['model', 'sumo'])
        .default('model'),
    )
    .option('--weather <spell>', 'rain@START+MINUTES or heavy-rain@START+MINUTES (simulated minutes): speeds and capacity fall 10 % or 20 %; repeatable', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--game-kickoff <minute>', 'a home game at McLane Stadium kicking off this many simulated minutes after the start')
    .option('--history-days <n>', 'days of past traffic written as final windows before the start, so forecasts and anomaly baselines begin with a profile (0–28; model engine only)', '0')
    .option(
      '--fault <spec>',
      'inject a fault into a simulated device: TARGET:KIND[@START[+MINUTES]] (simulated minutes), repeatable; e.g. txdot-i35:outage@5+10. ' +
        `Kinds: ${Object.entries(FAULTS).map(([k, f]) => `${k} (${f.on.join('/')})`).join(', ')}`,
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--bin-partitions <n>', 'partitions of the bins and windows topics when they are created', '6')
    .addOption(new Option('--log-level <level>', 'log detail').choices(['error', 'warn', 'info', 'debug']).default(process.env.WACOFLOW_LOG_LEVEL ?? 'info'))
    .addOption(new Option('--log-format <format>', 'log lines as JSON or for people (default: pretty on a terminal)').choices(['json', 'pretty']))
    .action(async (o: Record<string, string>) => {
      const config = validate(
        EmbeddedConfigSchema,
        {
          speedup: num(o.speedup!),
          http_host: o.httpHost,
          http_port: int(o.httpPort!),
          mqtt_port: int(o.mqttPort!),
          feed_port: int(o.feedPort!),
          kafka_brokers: list(o.kafkaBrokers ?? process.env.WACOFLOW_KAFKA_BROKERS ?? ''),
          database_url: (o.databaseUrl ?? process.env.WACOFLOW_DATABASE_URL) || null,
          data_dir: (o.dataDir ?? process.env.WACOFLOW_DATA_DIR) || null,
          grace_ms: int(o.graceMs!),
          start: o.start ?? null,
          seed: o.seed,
          incidents: o.incidents,
          network: o.network,
          stations: o.stations === undefined ? null : int(o.stations),
          engine: o.engine,
          faults: o.fault as unknown as string[],
          weather: o.weather as unknown as string[],
          game_kickoff_min: o.gameKickoff === undefined ? null : num(o.gameKickoff),
          history_days: int(o.historyDays!),
          bin_partitions: int(o.binPartitions!),
        },
        SETTINGS,
      );
      if (config.network === 'city' && config.speedup > SERIAL_MAX_SPEEDUP) {
        process.stderr.write(
          `wacoflow: --speedup ${config.speedup}: serial lines keep their real baud rate, and above ${SERIAL_MAX_SPEEDUP}× the SS105 line cannot poll ` +
            `its ten sensors within an interval: expect 'no sensor answered' from hwy6-radar (use --network core, or a lower speed-up)\n`,
        );
      }
      const logger = await createLogger(o.logLevel as LogLevel, (o.logFormat as 'json' | 'pretty' | undefined) ?? (process.stderr.isTTY ? 'pretty' : 'json'));
      const clock = scaledClock(config.speedup, config.start === null ? undefined : Date.parse(config.start));
      const { buildEmbedded } = await import('../../embedded/app.ts'); // only this command needs the whole system
      let system: ReturnType<typeof buildEmbedded>;
      try {
        system = buildEmbedded(config, { clock, logger, version: VERSION });
      } catch (err) {
        fail(err, SETTINGS);
      }

      let stopping: Promise<void> | null = null;
      const shutdown = (signal: string): void => {
        if (stopping) {
          process.stderr.write('wacoflow: second signal, exiting now\n');
          process.exit(130);
        }
        process.stderr.write(`\nwacoflow: ${signal} received, stopping…\n`);
        const force = setTimeout(() => {
          process.stderr.write(`wacoflow: did not stop within 10 s (still stopping: ${system.stopping() || 'unknown'}), exiting\n`);
          process.exit(1);
        }, 10_000);
        force.unref();
        stopping = system.stop().then(
          () => {
            process.stderr.write('wacoflow: stopped cleanly\n');
            process.exit(0);
          },
          (err: unknown) => fail(err, SETTINGS),
        );
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));

      try {
        await system.start();
      } catch (err) {
        logger.level = 'silent'; // the cause is what matters: no shutdown chatter after it
        await system.stop().catch(() => {});
        fail(err, SETTINGS);
      }
      const url = system.httpUrl();
      const windowRealS = Math.round(300 / config.speedup);
      process.stdout.write(
        [
          '',
          `WacoFlow ${VERSION} — simulator mode (${config.kafka_brokers.length ? 'Kafka' : 'in-process log'}, ${config.database_url ? 'PostgreSQL' : 'PGlite'})`,
          `  dashboard  ${url}/`,
          `  API        ${url}/api/stations   ${url}/docs (OpenAPI)`,
          `  metrics    ${url}/metrics`,
          `  MQTT       ${system.mqttUrl()} (embedded broker)`,
          `  time       ${config.speedup}× real time${config.engine === 'sumo' ? ' at most (SUMO sets the pace when it is slower)' : ''}: a 5-minute window closes every ${windowRealS} s and is final ${Math.round((300_000 + config.grace_ms) / config.speedup / 1000)} s after it opens`,
          '  Ctrl-C stops everything.',
          '',
        ].join('\n'),
      );
    });
}
