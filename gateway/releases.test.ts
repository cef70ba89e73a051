/** The gateway's release files: served whole from releases_dir, and nothing outside it. */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHttp, type TestHttpServer } from '../test/http-server.ts';
import { releasesHandler } from './releases.ts';

describe('gateway releases', () => {
  const root = mkdtempSync(join(tmpdir(), 'wacoflow-served-'));
  const dir = join(root, 'releases');
  let server: TestHttpServer;
  beforeAll(async () => {
    mkdirSync(join(dir, '0.2.0', 'arm64', 'bin'), { recursive: true });
    writeFileSync(join(dir, '0.2.0', 'arm64', 'manifest.json'), '{"v":1}\n');
    writeFileSync(join(dir, '0.2.0', 'arm64', 'bin', 'node'), Buffer.alloc(70_000, 7));
    writeFileSync(join(root, 'secret'), 'not for boards\n');
    symlinkSync(join(root, 'secret'), join(dir, 'escape'));
    const handle = releasesHandler(dir);
    server = await serveHttp((req, res) => void (handle(req, res) || res.writeHead(418).end()));
  });
  afterAll(() => server.close());

  /** The raw request, so that `..` reaches the server as sent. */
  const get = (path: string, method = 'GET') =>
    new Promise<{ status: number; body: Buffer; length: string | undefined }>((resolve, reject) => {
      const req = request(`${server.base}${path}`, { method, path }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), length: res.headers['content-length'] }));
      });
      req.on('error', reject);
      req.end();
    });

  it('serves a release file whole, with its length', async () => {
    const r = await get('/releases/0.2.0/arm64/bin/node');
    expect([r.status, r.body.length, r.length]).toEqual([200, 70_000, '70000']);
    expect((await get('/releases/0.2.0/arm64/manifest.json', 'HEAD')).length).toBe('8');
  });

  it.each(['/releases/0.2.0/arm64/missing', '/releases/0.2.0/arm64', '/releases/escape'])('answers 404 for %s', async (path) => {
    const r = await get(path);
    expect(r.status).toBe(404);
    expect(r.body.toString()).not.toContain('not for boards');
  });

  it.each(['/releases/../secret', '/releases/%2e%2e/secret', '/releases/0.2.0/../../secret'])('never serves a file outside the folder: %s', async (path) => {
    const r = await get(path);
    expect(r.status).not.toBe(200); // the path resolves outside /releases/, so it is not a release request at all
    expect(r.body.toString()).not.toContain('not for boards');
  });

  it('leaves every other path to the rest of the server, and refuses writes', async () => {
    expect((await get('/metrics')).status).toBe(418);
    expect((await get('/releases/0.2.0/arm64/manifest.json', 'PUT')).status).toBe(405);
  });

  it('refuses to start on a folder that is not there, saying which', () => {
    expect(() => releasesHandler(join(root, 'nope'))).toThrow(/releases_dir: cannot open .*nope \(ENOENT\)/);
  });
});
