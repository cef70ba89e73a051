/**
 * The process logger: JSON lines (pino) for machines, a readable form on a terminal. The pretty printer is
 * loaded only for a terminal: a board or a service writing JSON never pays for it (its modules and their
 * start-up work are memory an agent cannot spare).
 */
import pino, { type Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export async function createLogger(level: LogLevel, format: 'json' | 'pretty'): Promise<Logger> {
  if (format === 'pretty') {
    const { default: pretty } = await import('pino-pretty');
    return pino({ level }, pretty({ destination: 2, sync: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname' }));
  }
  return pino({ level }, pino.destination({ fd: 2, sync: true }));
}
