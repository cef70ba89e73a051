/**
 * The HTTP GET that the polling inputs share, on `node:http`/`node:https` rather than `fetch`.
 *
 * Why not fetch: on a board every megabyte counts, and loading Node's fetch (undici) costs about 13 MB of
 * resident memory (5.6 MB of heap and 7.6 MB of the node binary's pages) against about 3.5 MB for `node:http`,
 * measured on Node 20 (see docs/benchmarks.md, edge agent). What fetch gave for free is done here, bounded:
 *
 * - the body is refused as soon as it passes `max_bytes`, declared (Content-Length) or actual, and after
 *   decompression, so neither a huge document nor a small compressed bomb can fill memory;
 * - gzip and deflate responses are decompressed (TMDD XML compresses tenfold, which matters on a cellular link);
 * - redirects are followed, at most five, never from https to http;
 * - the caller's AbortSignal ends the request at any point, including mid-body.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import { ERR, WacoflowError } from '../../platform/errors.ts';

export interface HttpGetOptions {
  headers: Record<string, string>;
  signal: AbortSignal;
  /** Largest body accepted, in bytes after decompression. */
  max_bytes: number;
}

export interface HttpGetResult {
  status: number;
  headers: IncomingHttpHeaders;
  /** Empty for 304 Not Modified. */
  body: Buffer;
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A failure to reach the server or to read its answer: worth retrying. */
const unreachable = (url: string, err: unknown): WacoflowError =>
  new WacoflowError(ERR.FEED_HTTP, `GET ${url} failed: ${(err as Error).message}`, { retriable: true, cause: err });

const tooLarge = (url: string, limit: number): WacoflowError =>
  new WacoflowError(ERR.FEED_HTTP, `GET ${url}: response larger than max_response_bytes (${limit}); refused`, { retriable: false });

function send(url: URL, options: HttpGetOptions): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : null;
  if (!request) return Promise.reject(new WacoflowError(ERR.FEED_HTTP, `GET ${url.href}: only http and https URLs can be polled`, { retriable: false }));
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { 'accept-encoding': 'gzip, deflate', 'user-agent': 'wacoflow-agent', ...options.headers }, signal: options.signal }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** Reads a response body, decompressed, refusing it past `limit` bytes. */
async function readBody(res: IncomingMessage, url: string, limit: number): Promise<Buffer> {
  const encoding = String(res.headers['content-encoding'] ?? 'identity').toLowerCase();
  let stream: Readable = res;
  if (encoding === 'gzip' || encoding === 'x-gzip') stream = res.pipe(createGunzip());
  else if (encoding === 'deflate') stream = res.pipe(createInflate());
  else if (encoding !== 'identity') {
    res.destroy();
    throw new WacoflowError(ERR.FEED_HTTP, `GET ${url}: unsupported Content-Encoding "${encoding}"`, { retriable: false });
  }
  if (stream !== res) res.on('error', (err) => stream.destroy(err)); // pipe() does not carry errors forward
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw tooLarge(url, limit);
      chunks.push(chunk);
    }
  } catch (err) {
    res.destroy();
    stream.destroy();
    throw err instanceof WacoflowError ? err : unreachable(url, err);
  }
  return Buffer.concat(chunks, size);
}

/** Sends the GET and follows redirects; resolves with the final response (2xx or 304), its body unread. */
async function open(url: string, options: HttpGetOptions): Promise<{ res: IncomingMessage; href: string }> {
  let target = new URL(url);
  for (let hop = 0; ; hop++) {
    let res: IncomingMessage;
    try {
      res = await send(target, options);
    } catch (err) {
      throw err instanceof WacoflowError ? err : unreachable(target.href, err);
    }
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status) && res.headers.location) {
      res.resume();
      const next = new URL(res.headers.location, target);
      if (hop >= MAX_REDIRECTS) throw new WacoflowError(ERR.FEED_HTTP, `GET ${url}: more than ${MAX_REDIRECTS} redirects`, { retriable: false });
      if (target.protocol === 'https:' && next.protocol !== 'https:') {
        throw new WacoflowError(ERR.FEED_HTTP, `GET ${url}: refusing a redirect from https to ${next.protocol}`, { retriable: false });
      }
      target = next;
      continue;
    }
    if (status !== 304 && (status < 200 || status >= 300)) {
      res.resume();
      throw new WacoflowError(ERR.FEED_HTTP, `GET ${target.href} answered HTTP ${status}`, { retriable: status >= 500 || status === 429 });
    }
    if (Number(res.headers['content-length'] ?? NaN) > options.max_bytes) {
      res.destroy();
      throw tooLarge(target.href, options.max_bytes);
    }
    return { res, href: target.href };
  }
}

export async function httpGet(url: string, options: HttpGetOptions): Promise<HttpGetResult> {
  const { res, href } = await open(url, options);
  if (res.statusCode === 304) {
    res.resume();
    return { status: 304, headers: res.headers, body: Buffer.alloc(0) };
  }
  return { status: res.statusCode!, headers: res.headers, body: await readBody(res, href, options.max_bytes) };
}

/**
 * GETs a large body into `sink` chunk by chunk (a release file: never whole in memory), refusing it past
 * `max_bytes`. Resolves with the byte count once the body has ended.
 */
export async function httpGetStream(url: string, options: HttpGetOptions, sink: (chunk: Buffer) => void | Promise<void>): Promise<number> {
  const { res, href } = await open(url, { ...options, headers: { ...options.headers, 'accept-encoding': 'identity' } });
  let size = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > options.max_bytes) throw tooLarge(href, options.max_bytes);
      await sink(chunk);
    }
  } catch (err) {
    res.destroy();
    throw err instanceof WacoflowError ? err : unreachable(href, err);
  }
  return size;
}

/** A response header as one string (Node gives arrays for repeated headers), or null. */
export function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name.toLowerCase()];
  return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
}
