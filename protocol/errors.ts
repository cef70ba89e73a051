/**
 * Errors raised by protocol code. `field` is a dotted path into the message (`bins.3.measures.volume`) so a
 * dead-letter record or a log line says exactly what was wrong with a payload.
 */
export class ProtocolError extends Error {
  readonly code = 'WF_ERR_PROTOCOL_DECODE';
  readonly retriable = false;
  readonly kind: string;
  readonly field: string;
  readonly problem: string;

  constructor(kind: string, field: string, problem: string, options?: { cause?: unknown }) {
    super(`${kind}: ${field === '' ? '(message)' : field}: ${problem}`, options);
    this.name = 'ProtocolError';
    this.kind = kind;
    this.field = field;
    this.problem = problem;
  }
}

export class BinAlgebraError extends Error {
  readonly code = 'WF_ERR_BIN_ALGEBRA';
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'BinAlgebraError';
  }
}
