/** A pino logger whose JSON lines a test can read back: `lines` fills as the system under test logs. For tests only. */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export interface LogLine {
  level: number;
  msg: string;
}

export function capturingLogger(level: pino.Level = 'info'): { logger: Logger; lines: LogLine[]; warnings: () => string[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  /** The messages logged at warning level or above. */
  const warnings = () => lines.filter((l) => l.level >= 40).map((l) => l.msg);
  return { logger: pino({ level }, sink), lines, warnings };
}
