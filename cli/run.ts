/** Shared CLI plumbing: the version, and turning errors into one line per problem and an exit code. */
import { readFileSync } from 'node:fs';
import { ERR, isCoded } from '../platform/errors.ts';
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
