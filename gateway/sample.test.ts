import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../cli/config-file.ts';
import { GatewayFileConfigSchema } from './file-config.ts';

describe('gateway/sample.yaml', () => {
  it('loads', () => {
    expect(loadConfigFile(join(import.meta.dirname, 'sample.yaml'), GatewayFileConfigSchema)).toMatchObject({ mqtt_port: 1883, kafka_brokers: ['127.0.0.1:9092'] });
  });
});
