import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCoded } from '../../../platform/errors.ts';
import { serveHttp, type TestHttpServer } from '../../../test/http-server.ts';
import { TmddHttpConfigSchema } from './config.ts';
import { tmddHttpInput } from './driver.ts';

const DOC = `<tmdd:detectorDataMsg xmlns:tmdd="http://www.tmdd.org/303/messages"><detector-data-item><detector-data-list>
<detector-data-detail><station-id>s</station-id><detector-id>d1</detector-id><detection-time-stamp><date>20261127</date><time>080020</time><offset>-0600</offset></detection-time-stamp><vehicle-count>4</vehicle-count></detector-data-detail>
</detector-data-list></detector-data-item></tmdd:detectorDataMsg>`;

describe('tmdd-http driver', () => {
  let server: TestHttpServer;
  let base = '';
  const seen: Record<string, string | undefined>[] = [];
  beforeAll(async () => {
    server = await serveHttp((req, res) => {
      seen.push({ url: req.url, inm: req.headers['if-none-match'] });
      if (req.url === '/etag') {
        if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304).end();
        return void res.writeHead(200, { etag: '"v1"' }).end(DOC);
      }
      if (req.url === '/inventory') {
        return void res.writeHead(200).end(`<tmdd:detectorInventoryMsg xmlns:tmdd="http://www.tmdd.org/303/messages"><detector-inventory-item>
<detector-station-inventory-header><device-id>s</device-id><device-name>S</device-name></detector-station-inventory-header>
<detector-inventory-list><detector><detector-inventory-header><device-id>d1</device-id></detector-inventory-header></detector>
<detector><detector-inventory-header><device-id>d2</device-id></detector-inventory-header></detector></detector-inventory-list>
</detector-inventory-item></tmdd:detectorInventoryMsg>`);
      }
      if (req.url === '/huge') {
        res.writeHead(200, { 'content-type': 'application/xml' });
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        let sent = 0;
        const pump = (): void => {
          while (sent < 50 && res.write(chunk)) sent++;
          if (sent < 50) res.once('drain', pump);
          else res.end();
        };
        return pump();
      }
      if (req.url === '/hang') {
        res.writeHead(200);
        res.write('<tmdd:detectorDataMsg>'); // …and never finishes
        return;
      }
      res.writeHead(500).end('boom');
    });
    base = server.base;
  });
  afterAll(() => server.close());

  const input = (path: string, extra: Record<string, unknown> = {}) =>
    tmddHttpInput(TmddHttpConfigSchema.parse({ driver: 'tmdd-http', name: 'feed', url: `${base}${path}`, ...extra }));

  it('sends If-None-Match after an ETag and treats 304 as nothing new', async () => {
    const i = input('/etag');
    expect((await i.read(AbortSignal.timeout(5_000))).samples).toHaveLength(1);
    expect((await i.read(AbortSignal.timeout(5_000))).samples).toHaveLength(0);
    expect(seen.filter((s) => s.url === '/etag').map((s) => s.inm)).toEqual([undefined, '"v1"']);
  });

  it('reads the inventory too, so detectors that never report are known', async () => {
    const r = await input('/etag-inv', { inventory_url: `${base}/inventory` }).read(AbortSignal.timeout(5_000)).catch(() => null);
    expect(r).toBeNull(); // /etag-inv is not served: the data read fails, whatever the inventory says
    const ok = await input('/etag', { inventory_url: `${base}/inventory` }).read(AbortSignal.timeout(5_000));
    expect(ok.detectors).toEqual([{ detector_id: 'd1', station_id: 's' }, { detector_id: 'd2', station_id: 's' }]);
    const noInv = await input('/etag', { inventory_url: `${base}/missing` }).read(AbortSignal.timeout(5_000));
    expect(noInv.detectors).toBeUndefined();
    expect(noInv.dropped).toEqual({ inventory_unavailable: 1 });
  });

  it('refuses a 50 MB response past max_response_bytes without reading it all', async () => {
    const err = await input('/huge', { max_response_bytes: 4 * 1024 * 1024 }).read(AbortSignal.timeout(10_000)).catch((e: unknown) => e);
    expect(isCoded(err, 'WF_ERR_FEED_HTTP')).toBe(true);
    expect((err as Error).message).toContain('larger than max_response_bytes');
  });

  it('gives up on a feed that hangs mid-response when the read times out', async () => {
    const started = Date.now();
    const err = await input('/hang').read(AbortSignal.timeout(500)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports an HTTP error as retriable for 5xx', async () => {
    const err = await input('/error').read(AbortSignal.timeout(5_000)).catch((e: unknown) => e);
    expect(isCoded(err, 'WF_ERR_FEED_HTTP')).toBe(true);
    expect((err as { retriable: boolean }).retriable).toBe(true);
    expect((err as Error).message).toContain('HTTP 500');
  });
});
