/**
 * `wacoflow config publish|withdraw|show`: remote configuration documents for boards, at fleet, site or device
 * scope, published as retained messages through a gateway (which keeps them in the log for every gateway). A
 * board applies them over its own file (fleet, then site, then device) and reports the applied hash and any
 * refusal in its heartbeat, which the fleet page and GET /api/fleet show.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { AgentFileConfigSchema } from '../../edge-agent/config.ts';
import { checkRemoteKeys } from '../../edge-agent/remote/remote-config.ts';
import { encode, mqttConfigTopics, MQTT_ALL, tryDecode, type ConfigDocument, type ConfigScope } from '../../protocol/index.ts';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { addOperatorOptions, readRetained, withOperator, type OperatorOptions } from '../operator.ts';
import { failing } from '../run.ts';

type ScopeOptions = { scope: ConfigScope; target?: string };

/** The MQTT topic of a scope's document, and the target the document names (null for the fleet). */
function addressOf(o: ScopeOptions): { topic: string; target: string | null } {
  if (o.scope === 'fleet') {
    if (o.target) throw new WacoflowError(ERR.CONFIG, '--target: a fleet document is for every board; leave --target out');
    return { topic: mqttConfigTopics(MQTT_ALL, MQTT_ALL).fleet, target: null };
  }
  if (!o.target) throw new WacoflowError(ERR.CONFIG, `--target: name the ${o.scope === 'site' ? 'site' : 'device (as --target SITE/DEVICE)'} the document is for`);
  if (o.scope === 'site') return { topic: mqttConfigTopics(o.target, MQTT_ALL).site, target: o.target };
  const [site, device] = o.target.split('/');
  if (!site || !device) throw new WacoflowError(ERR.CONFIG, `--target "${o.target}": a device document names its site too: --target waco/agent-i35-north`);
  return { topic: mqttConfigTopics(site, device).device, target: device };
}

/** Reads the settings file and checks each setting against the agent's schema; every problem at once. */
function readSettings(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new WacoflowError(ERR.CONFIG, `--file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code})`);
  }
  const doc = parseDocument(text);
  const value = doc.toJS() as unknown;
  if (doc.errors.length > 0 || !value || typeof value !== 'object' || Array.isArray(value)) {
    throw new WacoflowError(ERR.CONFIG, `--file ${file}: give a YAML mapping of agent settings, for example "heartbeat_interval_ms: 15000"`);
  }
  const settings = value as Record<string, unknown>;
  const problems = checkRemoteKeys(settings);
  const shape = AgentFileConfigSchema.shape as Record<string, z.ZodType>;
  for (const [k, v] of Object.entries(settings)) {
    const r = shape[k]?.safeParse(v);
    if (r && !r.success) problems.push(...r.error.issues.map((i) => `${[k, ...i.path.map(String)].join('.')}: ${i.message}`));
  }
  if (problems.length > 0) throw new WacoflowError(ERR.CONFIG, problems.map((p) => `${file}: ${p}`).join('\n'));
  return settings;
}

export function configCommand(): Command {
  const config = new Command('config').summary("publish remote configuration for boards (fleet, site or device), through a gateway");
  const scoped = (cmd: Command) =>
    addOperatorOptions(
      cmd
        .addOption(new Option('--scope <scope>', 'fleet: every board; site: one site; device: one board').choices(['fleet', 'site', 'device']).makeOptionMandatory())
        .option('--target <id>', 'the site (scope site), or SITE/DEVICE (scope device)'),
    );

  scoped(config.command('publish'))
    .summary('publish a configuration document; boards apply it over their own file and report the result')
    .requiredOption('--file <file>', 'YAML settings for the boards, e.g. heartbeat_interval_ms: 15000 (identity, uplink and update settings stay in each board\'s file)')
    .option('--version <n>', 'the document version (default: one more than the one published)')
    .option('--by <name>', 'who publishes it', process.env.USER ?? 'operator')
    .action(
      failing(async (o: ScopeOptions & OperatorOptions & { file: string; version?: string; by: string }) => {
        const { topic, target } = addressOf(o);
        const settings = readSettings(o.file);
        await withOperator(o, async (client) => {
          const previous = await readRetained(client, topic);
          const before = previous ? tryDecode('config_document', previous) : null;
          const version = o.version !== undefined ? Number(o.version) : (before?.ok ? before.value.version : 0) + 1;
          if (!Number.isInteger(version) || version < 1) throw new WacoflowError(ERR.CONFIG, `--version "${o.version}": give a whole number above 0`);
          if (before?.ok && version <= before.value.version) throw new WacoflowError(ERR.CONFIG, `--version ${version}: boards have version ${before.value.version} at this scope and take only newer ones`);
          const doc: ConfigDocument = { v: 1, scope: o.scope, target, version, config: settings, by: o.by, ts_ms: Date.now() };
          await client.publishAsync(topic, encode(doc), { qos: 1, retain: true });
          process.stdout.write(`published ${o.scope} document version ${version} on ${topic}\nboards report the result in their heartbeat: GET /api/fleet (config.applied_hash, config.refused)\n`);
        });
      }),
    );

  scoped(config.command('withdraw'))
    .summary('withdraw the document at a scope; boards fall back to the scopes beneath it and their own file')
    .action(
      failing(async (o: ScopeOptions & OperatorOptions) => {
        const { topic } = addressOf(o);
        await withOperator(o, (client) => client.publishAsync(topic, Buffer.alloc(0), { qos: 1, retain: true }));
        process.stdout.write(`withdrew the ${o.scope} document on ${topic}\n`);
      }),
    );

  scoped(config.command('show'))
    .summary('print the document published at a scope')
    .action(
      failing(async (o: ScopeOptions & OperatorOptions) => {
        const { topic } = addressOf(o);
        const payload = await withOperator(o, (client) => readRetained(client, topic));
        process.stdout.write(payload ? `${JSON.stringify(JSON.parse(payload.toString()), null, 2)}\n` : `no document on ${topic}\n`);
      }),
    );
  return config;
}
