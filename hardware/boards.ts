/**
 * Board profiles (`hardware/boards/<name>.yaml`): what differs between the boards an agent runs on — serial device
 * paths and the config.txt lines they need, the thermal sensor, the status LED, memory — and the agent settings
 * that suit each one. `wacoflow flash --board NAME` starts from a profile's `agent_defaults`.
 *
 * A profile is checked when it is loaded: every problem is reported as `FILE: field: what is wrong`, and the
 * agent defaults are checked against the agent's own schema (merged into a placeholder device), so a profile
 * can never hand `flash` a setting the agent would refuse.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AgentFileConfigSchema } from '../edge-agent/config.ts';
import { InputConfigSchema } from '../edge-agent/inputs/registry.ts';
import { loadConfigFile } from '../platform/config-file.ts';
import { ERR, WacoflowError } from '../platform/errors.ts';

export const BOARDS_DIR = join(import.meta.dirname, 'boards');

const DevicePath = z.string().regex(/^\/dev\/\S+$/, 'must be a device path under /dev/');
const SysfsPath = z.string().regex(/^\/sys\/\S+$/, 'must be a path under /sys/');
/** A config.txt line: `key=value`, as the firmware reads it. */
const ConfigTxtLine = z.string().regex(/^[a-z_0-9]+=\S+$/, 'must be one config.txt line like enable_uart=1');

/** Keys a profile may not set: they are the device's own, given to `flash` for each board. */
const PER_DEVICE_KEYS = ['device_id', 'site', 'mqtt_url', 'mqtt_password', 'mqtt_password_file', 'mqtt_tls', 'inputs', 'data_dir'] as const;

export const BoardProfileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and - only'),
    model: z.string().min(1),
    arch: z.enum(['arm64', 'x64']),
    /** The RAM sizes the board is sold with, in MB. */
    memory_mb: z.array(z.number().int().min(128).max(1_048_576)).min(1),
    serial: z
      .object({
        /** The UART on the GPIO header: the path to give an input, the devices it may resolve to, what turns it on. */
        gpio_uart: z
          .object({
            path: DevicePath,
            devices: z.array(DevicePath).default([]),
            config_txt: z.array(ConfigTxtLine).default([]),
            /** cmdline.txt words to drop so the kernel's console leaves the UART to the detector. */
            cmdline_remove: z.array(z.string().regex(/^\S+$/, 'one word, no spaces')).default([]),
          })
          .strict(),
        usb: z.object({ by_id: z.string().startsWith('/dev/serial/by-id/'), devices: z.array(DevicePath).default([]) }).strict(),
      })
      .strict(),
    thermal: z.object({ path: SysfsPath, unit: z.literal('millidegree_celsius'), throttle_c: z.number().min(40).max(125) }).strict(),
    status_led: z.object({ path: SysfsPath, legacy_path: SysfsPath.optional(), notes: z.string().min(1) }).strict(),
    storage: z.string().min(1),
    /** Agent settings suited to the board, merged under the device's own (device_id, site, inputs, …). */
    agent_defaults: z
      .record(z.string(), z.unknown())
      .default({})
      .superRefine((d, ctx) => {
        for (const k of PER_DEVICE_KEYS) if (k in d) ctx.addIssue({ code: 'custom', path: [k], message: `is set per device by 'wacoflow flash', not by a board profile` });
      }),
    /** Inputs a board of this kind usually has; `flash` uses them when no --inputs file is given. */
    default_inputs: z.array(InputConfigSchema).optional(),
  })
  .strict();
export type BoardProfile = z.infer<typeof BoardProfileSchema>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `over` merged onto `base`: objects key by key, anything else (lists included) replaced whole. */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isPlainObject(v) && isPlainObject(out[k]) ? mergeConfig(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** A device's fields with placeholder values, to check a profile's defaults against the agent's schema. */
const PLACEHOLDER_DEVICE = {
  device_id: 'board-profile-check', site: 'check', mqtt_url: 'mqtt://127.0.0.1:1883', mqtt_password_file: '/etc/wacoflow/mqtt-password',
  inputs: [{ driver: 'tmdd-http', name: 'check', url: 'http://127.0.0.1/detectorDataMsg' }],
};

/** The profiles' names, sorted. */
export function listBoards(dir = BOARDS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

export function loadBoard(name: string, dir = BOARDS_DIR): BoardProfile {
  const known = listBoards(dir);
  if (!known.includes(name)) throw new WacoflowError(ERR.CONFIG, `--board "${name}": no such board profile; known boards: ${known.join(', ')} (profiles live in ${dir})`);
  const file = join(dir, `${name}.yaml`);
  const board = loadConfigFile(file, BoardProfileSchema);
  // Past the profile's own schema: its defaults must make a valid agent configuration, and its name its file's.
  const merged = mergeConfig(PLACEHOLDER_DEVICE, board.agent_defaults);
  if (board.default_inputs) merged.inputs = board.default_inputs;
  const agent = AgentFileConfigSchema.safeParse(merged);
  const problems = (agent.error?.issues ?? []).map((i) => {
    const field = i.path[0] === 'inputs' ? ['default_inputs', ...i.path.slice(1)] : ['agent_defaults', ...i.path];
    return `${file}: ${field.map(String).join('.')}: ${i.message} (checked as agent configuration)`;
  });
  if (board.name !== name) problems.push(`${file}: name: "${board.name}" must match the file name (${name}.yaml)`);
  if (problems.length > 0) throw new WacoflowError(ERR.CONFIG, problems.join('\n'));
  return board;
}

/** True when an input's serial line is the board's GPIO UART (so config.txt must switch it on). */
export function usesGpioUart(board: BoardProfile, linePath: string): boolean {
  const u = board.serial.gpio_uart;
  return linePath === u.path || u.devices.includes(linePath);
}
