/** camera-http: polls a camera or counting processor's JSON counts endpoint and maps its records. */
import { ERR, PayloadError } from '../../../platform/errors.ts';
import { httpGet } from '../http-get.ts';
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
      const res = await httpGet(config.url, { headers: { accept: 'application/json', ...config.headers }, signal, max_bytes: config.max_response_bytes });
      const text = res.body.toString('utf8');
      try {
        return parseCameraCounts(JSON.parse(text), config);
      } catch (err) {
        throw new PayloadError(ERR.FEED_PARSE, `GET ${config.url}: ${(err as Error).message}`, res.body, { cause: err });
      }
    },
  };
}
