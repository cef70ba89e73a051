/**
 * An operator tool's MQTT connection to a gateway (`wacoflow config …`, `wacoflow release announce`): a registry
 * entry with role operator (`wacoflow devices add ops-console --role operator --site waco`), its secret in a file.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import mqtt, { type MqttClient } from 'mqtt';
import { ERR, WacoflowError } from '../platform/errors.ts';

export interface OperatorOptions {
  gateway: string;
  operator: string;
  passwordFile: string;
  ca?: string;
}

export function addOperatorOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--gateway <url>', 'the gateway, mqtt://host:1883 or mqtts://host:8883')
    .requiredOption('--operator <id>', 'an operator registered on the gateway (wacoflow devices add ID --role operator)')
    .requiredOption('--password-file <file>', "the operator's secret, one line")
    .option('--ca <file>', "the CA of the gateway's certificate (mqtts://)");
}

function readFile(option: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new WacoflowError(ERR.CONFIG, `${option} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code})`);
  }
}

export async function connectOperator(o: OperatorOptions): Promise<MqttClient> {
  if (!/^mqtts?:\/\/[^/]+$/.test(o.gateway)) throw new WacoflowError(ERR.CONFIG, `--gateway "${o.gateway}": give the gateway's MQTT URL, for example mqtt://gateway.waco.local:1883`);
  const password = readFile('--password-file', o.passwordFile).trim();
  try {
    return await mqtt.connectAsync(o.gateway, {
      protocolVersion: 4, clientId: `${o.operator}`, username: o.operator, password, clean: true, reconnectPeriod: 0, connectTimeout: 10_000,
      ...(o.ca ? { ca: readFile('--ca', o.ca) } : {}),
    });
  } catch (err) {
    const e = err as Error & { code?: number | string };
    if (e.code === 5 || e.code === 4) throw new WacoflowError(ERR.CONFIG, `${o.gateway} refused ${o.operator}: ${e.message}; check that it is registered with --role operator and that --password-file holds its secret`);
    throw new WacoflowError(ERR.CONFIG, `cannot reach the gateway at ${o.gateway}: ${e.message}`, { cause: err });
  }
}

/** The retained message on `topic`, or null when there is none (a broker sends retained ones at once on subscribe). */
export async function readRetained(client: MqttClient, topic: string, wait_ms = 1_500): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(null), wait_ms);
    const onMessage = (t: string, payload: Buffer, packet: { retain?: boolean }) => {
      if (t === topic && packet.retain) done(payload.length > 0 ? payload : null);
    };
    const done = (v: Buffer | null) => {
      clearTimeout(timer);
      client.off('message', onMessage);
      client.unsubscribe(topic);
      resolve(v);
    };
    client.on('message', onMessage);
    client.subscribe(topic, { qos: 1 }, (err) => err && reject(err));
  });
}

/** Connects as the operator, runs `fn`, and disconnects whatever happened. */
export async function withOperator<T>(o: OperatorOptions, fn: (client: MqttClient) => Promise<T>): Promise<T> {
  const client = await connectOperator(o);
  try {
    return await fn(client);
  } finally {
    await client.endAsync();
  }
}
