/** `wacoflow release keygen|sign` and `build-agent`'s input checks, as an operator runs them. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readManifestBytes } from '../edge-agent/update/manifest.ts';
import { publicKeyFromPem, verifyManifestSignature } from '../edge-agent/update/signature.ts';
import { fixtureBundle } from '../test/release-fixtures.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'wacoflow.js');
const cli = (...args: string[]) => run(process.execPath, [BIN, ...args]).then((r) => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => e);

describe('wacoflow release', () => {
  it('makes a key pair once, the private half readable by its owner only, and will not replace it unasked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-keys-'));
    const first = await cli('release', 'keygen', '--out', dir);
    expect(first.code).toBe(0);
    expect(statSync(join(dir, 'release-key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'release-key.pub'), 'utf8')).toContain('BEGIN PUBLIC KEY');
    const again = await cli('release', 'keygen', '--out', dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already holds a release key; boards trust it');
  });

  it('signs a bundle that matches its manifest, so that the public key verifies it, and refuses one that does not', async () => {
    const keys = mkdtempSync(join(tmpdir(), 'wacoflow-keys-'));
    await cli('release', 'keygen', '--out', keys);
    const bundle = await fixtureBundle(join(mkdtempSync(join(tmpdir(), 'wacoflow-sign-')), 'b'), { version: '0.4.0' });
    const r = await cli('release', 'sign', bundle, '--key', join(keys, 'release-key.pem'));
    expect(r.stdout).toContain('signed');
    const key = publicKeyFromPem(readFileSync(join(keys, 'release-key.pub'), 'utf8'), 'test');
    expect(verifyManifestSignature(readManifestBytes(bundle), readFileSync(join(bundle, 'manifest.sig'), 'utf8'), key)).toBe(true);

    const changed = await fixtureBundle(join(mkdtempSync(join(tmpdir(), 'wacoflow-sign-')), 'b'), { version: '0.4.0' });
    writeFileSync(join(changed, 'run'), '#!/bin/sh\necho changed after the build\n');
    const refused = await cli('release', 'sign', changed, '--key', join(keys, 'release-key.pem'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('the bundle does not match its manifest, not signing it');
    expect(refused.stderr).toMatch(/run: \d+ bytes, the manifest says \d+/);
    expect(existsSync(join(changed, 'manifest.sig'))).toBe(false);
  });

  it('says what is wrong with an announcement before connecting to anything', async () => {
    const r = await cli('release', 'announce', '--version', 'latest', '--bundle', 'sparc=http://x/', '--gateway', 'mqtt://127.0.0.1:9', '--operator', 'o', '--password-file', '/dev/null');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--bundle "sparc=http://x/": give ARCH=URL, ARCH arm64 or x64');
  });
});

describe('wacoflow build-agent', () => {
  it('refuses a version boards could not compare, and an --out that holds something', async () => {
    const out = mkdtempSync(join(tmpdir(), 'wacoflow-build-'));
    const bad = await cli('build-agent', '--arch', 'arm64', '--out', join(out, 'b'), '--version', 'v2');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--version "v2": give a version like 1.2.3');
    writeFileSync(join(out, 'something'), 'x');
    const busy = await cli('build-agent', '--arch', 'x64', '--out', out);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain('the folder exists and is not empty');
  });
});
