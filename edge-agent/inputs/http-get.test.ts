import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCoded } from '../../platform/errors.ts';
import { serveHttp, type TestHttpServer } from '../../test/http-server.ts';
import { freePort } from '../../test/ports.ts';
import { httpGet } from './http-get.ts';

const BODY = '<doc>' + 'lane '.repeat(2_000) + '</doc>';

describe('httpGet', () => {
  let server: TestHttpServer;
  let base = '';
  beforeAll(async () => {
    server = await serveHttp((req, res) => {
      const url = req.url ?? '/';
      if (url === '/plain') return void res.writeHead(200, { etag: '"a"' }).end(BODY);
      if (url === '/gzip' && /gzip/.test(String(req.headers['accept-encoding']))) return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(BODY));
      if (url === '/deflate') return void res.writeHead(200, { 'content-encoding': 'deflate' }).end(deflateSync(BODY));
      // 64 MB of zeros compress to about 64 KB: the limit must hold after decompression.
      if (url === '/bomb') return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(64 * 1024 * 1024)));
      if (url === '/br') return void res.writeHead(200, { 'content-encoding': 'br' }).end('xx');
      if (url === '/chunked-huge') {
        res.writeHead(200); // no Content-Length: the limit must hold on what arrives
        const chunk = Buffer.alloc(256 * 1024, 0x20);
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        return pump();
      }
      if (url === '/declared-huge') return void res.writeHead(200, { 'content-length': String(1 << 30) }).end();
      if (url === '/hang') return void res.writeHead(200).write('<doc>');
      if (url === '/not-modified') return void res.writeHead(304).end();
      if (url.startsWith('/hop/')) {
        const n = Number(url.slice(5));
        return void res.writeHead(302, { location: n === 0 ? '/plain' : `/hop/${n - 1}` }).end();
      }
      if (url === '/busy') return void res.writeHead(503).end('later');
      res.writeHead(404).end('no');
    });
    base = server.base;
  });
  afterAll(() => server.close());

  const get = (path: string, max_bytes = 1024 * 1024, signal = AbortSignal.timeout(5_000)) => httpGet(`${base}${path}`, { headers: {}, signal, max_bytes });
  const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as Error & { retriable?: boolean });

  it('reads a plain body with its headers', async () => {
    const r = await get('/plain');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(BODY);
    expect(r.headers.etag).toBe('"a"');
  });

  it('asks for gzip and decompresses gzip and deflate bodies', async () => {
    expect((await get('/gzip')).body.toString()).toBe(BODY);
    expect((await get('/deflate')).body.toString()).toBe(BODY);
  });

  it('refuses a compressed bomb by its decompressed size', async () => {
    const err = await failure(get('/bomb', 4 * 1024 * 1024));
    expect(isCoded(err, 'WF_ERR_FEED_HTTP')).toBe(true);
    expect(err?.message).toContain('larger than max_response_bytes (4194304)');
    expect(err?.retriable).toBe(false);
  });

  it('refuses a body past the limit, whether declared or streamed without a length', async () => {
    expect((await failure(get('/declared-huge')))?.message).toContain('larger than max_response_bytes');
    expect((await failure(get('/chunked-huge')))?.message).toContain('larger than max_response_bytes');
  });

  it('refuses an encoding it cannot decode, naming it', async () => {
    expect((await failure(get('/br')))?.message).toContain('unsupported Content-Encoding "br"');
  });

  it('returns 304 with an empty body', async () => {
    const r = await get('/not-modified');
    expect(r.status).toBe(304);
    expect(r.body.length).toBe(0);
  });

  it('follows up to five redirects, then stops; polls only http and https', async () => {
    expect((await get('/hop/4')).body.toString()).toBe(BODY);
    expect((await failure(get('/hop/6')))?.message).toContain('more than 5 redirects');
    const err = await failure(httpGet('ftp://127.0.0.1/x', { headers: {}, signal: AbortSignal.timeout(1_000), max_bytes: 10 }));
    expect(err?.message).toContain('only http and https');
  });

  it('reports HTTP errors with their status, retriable only for 5xx and 429', async () => {
    const busy = await failure(get('/busy'));
    expect(busy?.message).toContain('answered HTTP 503');
    expect(busy?.retriable).toBe(true);
    const missing = await failure(get('/missing'));
    expect(missing?.message).toContain('answered HTTP 404');
    expect(missing?.retriable).toBe(false);
  });

  it('ends a response that hangs mid-body when the signal fires, as a retriable failure', async () => {
    const t = Date.now();
    const err = await failure(get('/hang', 1024, AbortSignal.timeout(300)));
    expect(Date.now() - t).toBeLessThan(4_000);
    expect(isCoded(err, 'WF_ERR_FEED_HTTP')).toBe(true);
    expect(err?.retriable).toBe(true);
  });

  it('reports a refused connection as a retriable failure', async () => {
    const port = await freePort(); // free a moment ago: nothing listens there
    const err = await failure(httpGet(`http://127.0.0.1:${port}/`, { headers: {}, signal: AbortSignal.timeout(2_000), max_bytes: 10 }));
    expect(err?.message).toContain('ECONNREFUSED');
    expect(err?.retriable).toBe(true);
  });
});
