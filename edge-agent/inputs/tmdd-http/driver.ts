/**
 * tmdd-http: polls a TMDD detectorDataMsg over HTTP(S) and parses it. Sends If-None-Match / If-Modified-Since
 * when the server gave an ETag / Last-Modified, so an unchanged feed costs a 304 and no parsing.
 */
import { ERR, PayloadError } from '../../../platform/errors.ts';
import { header, httpGet } from '../http-get.ts';
import type { Input, InputReading } from '../input.ts';
import type { TmddHttpConfig } from './config.ts';
import { parseInventory } from './inventory.ts';
import { parseDetectorData } from './parse.ts';

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
      const res = await httpGet(config.url, { headers, signal, max_bytes: config.max_response_bytes });
      if (res.status === 304) return { samples: [], dropped: {} };
      const text = res.body.toString('utf8');
      let detectors: InputReading['detectors'];
      if (config.inventory_url && Date.now() - inventoryAt >= config.inventory_interval_ms) {
        // The inventory is a bonus: a failure here is counted and retried next time, the data read goes on.
        try {
          const inv = await httpGet(config.inventory_url, { headers: { accept: 'application/xml, text/xml' }, signal, max_bytes: config.max_response_bytes });
          detectors = inventoryDetectors(inv.body.toString('utf8'));
          inventoryAt = Date.now();
        } catch {
          detectors = undefined;
        }
      }
      let reading: InputReading;
      try {
        reading = parseDetectorData(text, config);
      } catch (err) {
        throw new PayloadError(ERR.FEED_PARSE, `GET ${config.url}: ${(err as Error).message}`, res.body, { cause: err });
      }
      etag = header(res.headers, 'etag');
      lastModified = header(res.headers, 'last-modified');
      if (config.inventory_url && !detectors && inventoryAt === -Infinity) reading.dropped = { ...reading.dropped, inventory_unavailable: 1 };
      return detectors ? { ...reading, detectors } : reading;
    },
  };
}
