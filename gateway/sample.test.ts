import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../platform/config-file.ts';
import { GatewayFileConfigSchema } from './file-config.ts';

describe('gateway/sample.yaml', () => {
  it('loads', () => {
    expect(loadConfigFile(join(import.meta.dirname, 'sample.yaml'), GatewayFileConfigSchema)).toMatchObject({ mqtt_port: 1883, kafka_brokers: ['127.0.0.1:9092'] });
  });
});

describe('a gateway configuration file with limits out of range', () => {
  it('names the file and each field, with the bound it broke', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-gw-conf-'));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, ['registry_file: /tmp/d.json', 'kafka_brokers: [127.0.0.1:9092]', 'max_messages_per_s_per_client: 1000000', 'max_inflight_per_client: 0'].join('\n'));
    expect(() => loadConfigFile(file, GatewayFileConfigSchema)).toThrow(
      new RegExp(`${file}: max_inflight_per_client: Too small: expected number to be >=1\\n${file}: max_messages_per_s_per_client: Too big: expected number to be <=100000`),
    );
  });
});
