/**
 * tmdd-http: polls a TMDD detectorDataMsg over HTTP(S) and parses it. Sends If-None-Match / If-Modified-Since
 * when the server gave an ETag / Last-Modified, so an unchanged feed costs a 304 and no parsing.
 */
import { ERR, PayloadError, WacoflowError } from '../../../platform/errors.ts';
import type { Input, InputReading } from '../input.ts';
import type { TmddHttpConfig } from './config.ts';
import { parseInventory } from './inventory.ts';
import { parseDetectorData } from './parse.ts';

/** Reads the body, refusing it as soon as it passes `limit` bytes (declared or actual). */
async function readLimited(res: Response, limit: number, url: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const tooBig = (): WacoflowError =>
    new WacoflowError(ERR.FEED_HTTP, `GET ${url}: response larger than max_response_bytes (${limit}); refused`, { retriable: false });
  if (declared > limit) {
    await res.body?.cancel();
    throw tooBig();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.byteLength;
    if (size > limit) throw tooBig(); // leaving the loop cancels the stream
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The lane detectors an inventory lists; a detector without lanes stands for itself. */
function inventoryDetectors(xml: string): { detector_id: string; station_id: string }[] {
  return parseInventory(xml).flatMap((s) => s.detectors.map((d) => ({ detector_id: d.detector_id, station_id: s.station_id })));
}

export function tmddHttpInput(config: TmddHttpConfig): Input {
  let etag: string | null = null;
  let lastModified: string | null = null;
  let inventoryAt = -Infinity;
  return {
    name: config.name,
    driver: 'tmdd-http',
    sample_interval_ms: config.sample_interval_ms,
    poll_interval_ms: config.poll_interval_ms,
    async read(signal): Promise<InputReading> {
      const headers: Record<string, string> = { accept: 'application/xml, text/xml' };
      if (etag) headers['if-none-match'] = etag;
      if (lastModified) headers['if-modified-since'] = lastModified;
      let res: Response;
      try {
        res = await fetch(config.url, { headers, signal });
      } catch (err) {
        throw new WacoflowError(ERR.FEED_HTTP, `GET ${config.url} failed: ${(err as Error).cause ? String((err as Error & { cause: Error }).cause.message) : (err as Error).message}`, { retriable: true, cause: err });
      }
      if (res.status === 304) return { samples: [], dropped: {} };
      if (!res.ok) {
        await res.body?.cancel();
        throw new WacoflowError(ERR.FEED_HTTP, `GET ${config.url} answered HTTP ${res.status}`, { retriable: res.status >= 500 || res.status === 429 });
      }
      const text = await readLimited(res, config.max_response_bytes, config.url);
      let detectors: InputReading['detectors'];
      if (config.inventory_url && Date.now() - inventoryAt >= config.inventory_interval_ms) {
        // The inventory is a bonus: a failure here is counted and retried next time, the data read goes on.
        try {
          const inv = await fetch(config.inventory_url, { headers: { accept: 'application/xml, text/xml' }, signal });
          if (!inv.ok) throw new Error(`HTTP ${inv.status}`);
          detectors = inventoryDetectors(await readLimited(inv, config.max_response_bytes, config.inventory_url));
          inventoryAt = Date.now();
        } catch {
          detectors = undefined;
        }
      }
      let reading: InputReading;
      try {
        reading = parseDetectorData(text, config);
      } catch (err) {
        throw new PayloadError(ERR.FEED_PARSE, `GET ${config.url}: ${(err as Error).message}`, Buffer.from(text, 'utf8'), { cause: err });
      }
      etag = res.headers.get('etag');
      lastModified = res.headers.get('last-modified');
      if (config.inventory_url && !detectors && inventoryAt === -Infinity) reading.dropped = { ...reading.dropped, inventory_unavailable: 1 };
      return detectors ? { ...reading, detectors } : reading;
    },
  };
}
