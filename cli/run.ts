/** Shared CLI plumbing: the version, the `--config FILE` process commands, and turning errors into one line per problem and an exit code. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ERR, isCoded, WacoflowError } from '../platform/errors.ts';
import type { LogLevel } from '../platform/logger.ts';
import { describeSetting, type Setting } from './options.ts';

/** Set by the agent bundle's build; read from package.json when running from the source tree. */
declare const __WACOFLOW_VERSION__: string | undefined;

export const VERSION: string =
  typeof __WACOFLOW_VERSION__ === 'string'
    ? __WACOFLOW_VERSION__
    : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Prints what went wrong without a stack trace (unless WACOFLOW_DEBUG=1) and exits non-zero. */
export function fail(err: unknown, settings: Setting[] = []): never {
  if (isCoded(err, ERR.CONFIG)) {
    for (const line of err.message.split('\n')) process.stderr.write(`wacoflow: configuration error: ${line}\n`);
    process.exit(2);
  }
  if (isCoded(err, ERR.PORT_IN_USE)) {
    // The message starts with the config key; name the option a person types instead.
    const [key, ...rest] = err.message.split(': ');
    process.stderr.write(`wacoflow: ${describeSetting(settings, key!)}: ${rest.join(': ')}\n`);
    process.exit(1);
  }
  if (isCoded(err, ERR.STORE_UNAVAILABLE) || isCoded(err, ERR.LOG_UNAVAILABLE)) {
    process.stderr.write(`wacoflow: ${err.message}\n  start the services with: npm run services -- up\n`);
    process.exit(1);
  }
  const e = err as Error;
  process.stderr.write(`wacoflow: ${e?.message ?? String(err)}\n`);
  if (process.env.WACOFLOW_DEBUG === '1' && e?.stack) process.stderr.write(`${e.stack}\n`);
  else process.stderr.write('  (set WACOFLOW_DEBUG=1 for the stack trace)\n');
  process.exit(1);
}

/** A command's action whose errors end the process through `fail`: one line per problem and an exit code. */
export function failing<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (err) {
      fail(err);
    }
  };
}

/**
 * A process run from a YAML file: `wacoflow <name> --config FILE [--log-level L]`. `load` imports the process's
 * code only when the command runs, so `--help` and the other commands stay fast.
 */
export function configCommand(
  name: 'agent' | 'gateway' | 'central',
  text: { summary: string; description: string },
  load: () => Promise<(file: string, logLevel: LogLevel) => Promise<void>>,
): Command {
  return new Command(name)
    .summary(text.summary)
    .description(text.description)
    .option('-c, --config <file>', `${name} configuration (YAML); required`)
    .option('--log-level <level>', 'error, warn, info or debug', 'info')
    .action(async (o: { config?: string; logLevel: LogLevel }) => {
      try {
        if (!o.config) throw new WacoflowError(ERR.CONFIG, `--config: give the ${name} configuration file, for example --config /etc/wacoflow/${name}.yaml`);
        await (await load())(o.config, o.logLevel);
      } catch (err) {
        fail(err);
      }
    });
}
