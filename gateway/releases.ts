/**
 * Agent releases served over HTTP by the gateway (`releases_dir`), so boards download updates from the host
 * they already reach: GET /releases/<path> answers with the file at `<releases_dir>/<path>`, streamed. Only
 * regular files inside the folder are served; anything else is a 404.
 */
import { createReadStream, realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, sep } from 'node:path';
import { ERR, WacoflowError } from '../platform/errors.ts';

export const RELEASES_PATH = '/releases/';

/** Handles the request if it is for a release file; returns false for any other path. */
export function releasesHandler(dir: string): (req: IncomingMessage, res: ServerResponse) => boolean {
  let root: string;
  try {
    root = realpathSync(dir);
  } catch (err) {
    throw new WacoflowError(ERR.CONFIG, `releases_dir: cannot open ${dir} (${(err as NodeJS.ErrnoException).code}); create it, or leave releases_dir out`);
  }
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (!url.pathname.startsWith(RELEASES_PATH)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    const file = releaseFile(root, url.pathname.slice(RELEASES_PATH.length));
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such release file\n');
      return true;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file.path).on('error', () => res.destroy()).pipe(res);
    return true;
  };
}

/** The regular file a request path names inside `root` (links resolved, so none leads outside), or null. */
function releaseFile(root: string, path: string): { path: string; size: number } | null {
  try {
    const real = realpathSync(join(root, ...path.split('/').map(decodeURIComponent)));
    const st = statSync(real);
    return real.startsWith(root + sep) && st.isFile() ? { path: real, size: st.size } : null;
  } catch {
    return null;
  }
}
