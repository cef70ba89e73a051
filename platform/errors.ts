/**
 * Coded errors shared by every process. Code branches on `code`, never on message text; `retriable` says whether
 * doing the same thing again later can succeed. User-facing errors name the setting or file, what was wrong
 * and what to do.
 */
export class WacoflowError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WacoflowError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export const ERR = {
  CONFIG: 'WF_ERR_CONFIG',
  PORT_IN_USE: 'WF_ERR_PORT_IN_USE',
  LOG_UNAVAILABLE: 'WF_ERR_LOG_UNAVAILABLE',
  STORE_UNAVAILABLE: 'WF_ERR_STORE_UNAVAILABLE',
  FEED_HTTP: 'WF_ERR_FEED_HTTP',
  FEED_PARSE: 'WF_ERR_FEED_PARSE',
  OUTBOX_DISK_FULL: 'WF_ERR_OUTBOX_DISK_FULL',
  OUTBOX_IO: 'WF_ERR_OUTBOX_IO',
} as const;

/** A parse failure that carries the payload it could not read, so the caller can keep it as a dead letter. */
export class PayloadError extends WacoflowError {
  readonly payload: Buffer;
  constructor(code: string, message: string, payload: Buffer, options: { cause?: unknown } = {}) {
    super(code, message, { retriable: false, cause: options.cause });
    this.payload = payload;
  }
}

export function isCoded(err: unknown, code: string): err is WacoflowError {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
