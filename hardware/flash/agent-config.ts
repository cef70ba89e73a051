/**
 * The board's agent.yaml: the board profile's defaults, then the device's own settings (id, site, gateway, the
 * paths the installer puts its secrets at) and its inputs. Checked whole with the agent's schema before anything
 * is written, so a payload never carries a config the agent would refuse.
 */
import { parseDocument, stringify } from 'yaml';
import { z } from 'zod';
import { AgentFileConfigSchema } from '../../edge-agent/config.ts';
import { InputConfigSchema } from '../../edge-agent/inputs/registry.ts';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { mergeConfig, type BoardProfile } from '../boards.ts';

/** Where install.sh puts things on the board: fixed by the team's install layout. */
export const BOARD_ETC = '/etc/wacoflow';
export const BOARD_DATA_DIR = '/var/lib/wacoflow';

export const INPUTS_EXAMPLE = [
  '  - driver: ss125-serial',
  '    name: i35-brazos-hd',
  '    line: { path: /dev/serial0, baud_rate: 9600 }',
  '    drops: [{ drop: 201, station_id: i35-nb-brazos }]',
  '  - driver: tmdd-http',
  '    name: txdot-i35',
  '    url: http://10.0.0.5/tmdd/detectorDataMsg',
].join('\n');

/** An --inputs file's text: a YAML list of inputs, each checked against its driver's schema. */
export function parseInputs(text: string, file: string): unknown[] {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new WacoflowError(ERR.CONFIG, `--inputs ${file}${e.linePos?.[0] ? `:${e.linePos[0].line}:${e.linePos[0].col}` : ''}: YAML: ${e.message.split('\n')[0]}`);
  }
  const r = z.array(InputConfigSchema).min(1, 'the list is empty').safeParse(doc.toJS());
  if (!r.success) {
    throw new WacoflowError(ERR.CONFIG, r.error.issues.map((i) => `--inputs ${file}: ${i.path.length ? i.path.map(String).join('.') : '(top level)'}: ${i.message}`).join('\n') + `\n  an inputs file looks like:\n${INPUTS_EXAMPLE}`);
  }
  return doc.toJS() as unknown[]; // as written, without the schema's defaults: the agent applies its own when it loads agent.yaml
}

export interface DeviceSettings {
  device_id: string;
  site: string;
  mqtt_url: string;
  /** Which TLS files the payload carries. */
  tls: { ca: boolean; client: boolean };
  /** Whether the payload carries the release public key (the board then takes signed updates). */
  release_key: boolean;
  /** From --inputs; null: the board profile's default_inputs. */
  inputs: unknown[] | null;
}

/** The agent configuration as it will be written, checked. */
export function buildAgentConfig(board: BoardProfile, d: DeviceSettings): { config: Record<string, unknown>; yaml: string } {
  const inputs = d.inputs ?? board.default_inputs;
  if (!inputs) {
    throw new WacoflowError(ERR.CONFIG, `--inputs: the ${board.name} board profile has no default inputs; give --inputs FILE, a YAML list of the board's detectors, for example:\n${INPUTS_EXAMPLE}`);
  }
  const device: Record<string, unknown> = {
    device_id: d.device_id, site: d.site, mqtt_url: d.mqtt_url, mqtt_password_file: `${BOARD_ETC}/mqtt-password`, data_dir: BOARD_DATA_DIR,
  };
  if (d.tls.ca || d.tls.client) {
    device.mqtt_tls = {
      ...(d.tls.ca ? { ca_file: `${BOARD_ETC}/ca.pem` } : {}),
      ...(d.tls.client ? { cert_file: `${BOARD_ETC}/client.pem`, key_file: `${BOARD_ETC}/client.key` } : {}),
    };
  }
  if (d.release_key) device.update = { public_key_file: `${BOARD_ETC}/release-key.pub` };
  const config = { ...mergeConfig(board.agent_defaults, device), inputs };
  const r = AgentFileConfigSchema.safeParse(config);
  if (!r.success) {
    throw new WacoflowError(ERR.CONFIG, r.error.issues.map((i) => `agent.yaml for ${d.device_id}: ${i.path.map(String).join('.') || '(top level)'}: ${i.message}`).join('\n'));
  }
  const header = `# WacoFlow agent on ${board.model} (board profile ${board.name}), written by 'wacoflow flash'.\n# edge-agent/sample.yaml describes every setting.\n`;
  return { config, yaml: header + stringify(config, { lineWidth: 0 }) };
}

/** Serial line paths the inputs use (for config.txt: does the GPIO UART need switching on?). */
export function serialPaths(config: Record<string, unknown>): string[] {
  const inputs = (config.inputs ?? []) as { line?: { path?: unknown } }[];
  return inputs.map((i) => i.line?.path).filter((p): p is string => typeof p === 'string');
}
