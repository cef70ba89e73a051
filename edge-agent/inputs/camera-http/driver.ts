/** camera-http: polls a camera or counting processor's JSON counts endpoint and maps its records. */
import { ERR, PayloadError, WacoflowError } from '../../../platform/errors.ts';
import type { Input, InputReading } from '../input.ts';
import type { CameraHttpConfig } from './config.ts';
import { parseCameraCounts } from './parse.ts';

export function cameraHttpInput(config: CameraHttpConfig): Input {
  return {
    name: config.name,
    driver: 'camera-http',
    sample_interval_ms: config.interval_ms,
    poll_interval_ms: config.poll_interval_ms,
    async read(signal): Promise<InputReading> {
      let res: Response;
      try {
        res = await fetch(config.url, { headers: { accept: 'application/json', 'user-agent': 'wacoflow-agent', ...config.headers }, signal });
      } catch (err) {
        throw new WacoflowError(ERR.FEED_HTTP, `GET ${config.url} failed: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`, { retriable: true, cause: err });
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new WacoflowError(ERR.FEED_HTTP, `GET ${config.url} answered HTTP ${res.status}`, { retriable: res.status >= 500 || res.status === 429 });
      }
      const declared = Number(res.headers.get('content-length') ?? NaN);
      if (declared > config.max_response_bytes) {
        await res.body?.cancel();
        throw new WacoflowError(ERR.FEED_HTTP, `GET ${config.url}: response larger than max_response_bytes (${config.max_response_bytes}); refused`);
      }
      const text = await res.text();
      if (text.length > config.max_response_bytes) throw new WacoflowError(ERR.FEED_HTTP, `GET ${config.url}: response larger than max_response_bytes (${config.max_response_bytes}); refused`);
      try {
        return parseCameraCounts(JSON.parse(text), config);
      } catch (err) {
        throw new PayloadError(ERR.FEED_PARSE, `GET ${config.url}: ${(err as Error).message}`, Buffer.from(text, 'utf8'), { cause: err });
      }
    },
  };
}
