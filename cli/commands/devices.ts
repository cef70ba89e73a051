/**
 * `wacoflow devices add|list|enable|disable|rotate`: the gateway's device registry. A secret is printed once,
 * when it is made; only its scrypt hash is stored. A running gateway picks changes up within seconds and
 * disconnects a device that was disabled or rotated.
 */
import { Command, Option } from 'commander';
import { hashSecret, newSecret } from '../../gateway/registry/devices.ts';
import { checkRegistryId, newStoredDevice, readRegistryFile, writeRegistryFile } from '../../gateway/registry/file-registry.ts';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { fail } from '../run.ts';

/** The registry file: --registry, or WACOFLOW_REGISTRY_FILE. */
export function registryPath(o: { registry?: string }): string {
  const path = o.registry ?? process.env.WACOFLOW_REGISTRY_FILE;
  if (!path) throw new WacoflowError(ERR.CONFIG, '--registry: give the device registry file (or set WACOFLOW_REGISTRY_FILE), for example --registry /var/lib/wacoflow/devices.json');
  return path;
}

/** Wraps an action: resolves the registry path, reads the file, and turns errors into one line and an exit code. */
function withRegistry(fn: (path: string, devices: ReturnType<typeof readRegistryFile>, cmd: Command) => Promise<void> | void) {
  return async (...args: unknown[]) => {
    const cmd = args.at(-1) as Command; // commander passes the command last
    try {
      const path = registryPath(cmd.opts());
      await fn(path, readRegistryFile(path), cmd);
    } catch (err) {
      fail(err);
    }
  };
}

export function devicesCommand(): Command {
  const devices = new Command('devices').summary("manage the gateway's device registry (credentials are per device)");
  const registryOption = ['--registry <file>', 'the registry file (or WACOFLOW_REGISTRY_FILE)'] as const;

  devices
    .command('add')
    .summary('register a device and print its new secret (shown once)')
    .argument('<device-id>', 'the board id: also its MQTT clientId and username')
    .requiredOption('--site <site>', 'the site its topics live under (wacoflow/v1/<site>/<device-id>/…)')
    .addOption(new Option('--role <role>', 'device: a board; operator: a tool that reads the fleet and writes config').choices(['device', 'operator']).default('device'))
    .option(...registryOption)
    .action(
      withRegistry(async (path, list, cmd) => {
        const [id, o] = [cmd.args[0]!, cmd.opts() as { site: string; role: 'device' | 'operator' }];
        checkRegistryId('device id', id, 'device');
        checkRegistryId('--site', o.site, 'site');
        if (list.some((d) => d.device_id === id)) throw new WacoflowError(ERR.CONFIG, `${id} is already registered; use 'wacoflow devices rotate ${id}' for a new secret`);
        const secret = newSecret();
        writeRegistryFile(path, [...list, await newStoredDevice({ device_id: id, site: o.site, secret, role: o.role })]);
        process.stdout.write(`registered ${id} (${o.role}) at site ${o.site}\nsecret (shown once, put it in the board's mqtt_password_file): ${secret}\n`);
      }),
    );

  devices
    .command('list')
    .summary('list registered devices (never their secrets)')
    .option(...registryOption)
    .action(
      withRegistry((_path, list) => {
        const rows = [['device', 'role', 'site', 'enabled', 'created (UTC)', 'changed (UTC)'], ...list.map((d) => [d.device_id, d.role, d.site, d.enabled ? 'yes' : 'no', new Date(d.created_ms).toISOString().slice(0, 19), new Date(d.updated_ms).toISOString().slice(0, 19)])];
        const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
      }),
    );

  for (const [name, summary] of [
    ['disable', 'refuse the device from now on (a connected one is disconnected)'],
    ['enable', 'let a disabled device connect again'],
    ['rotate', 'give the device a new secret, printed once (the old one stops working)'],
  ] as const) {
    devices
      .command(name)
      .summary(summary)
      .argument('<device-id>')
      .option(...registryOption)
      .action(
        withRegistry(async (path, list, cmd) => {
          const id = cmd.args[0]!;
          const d = list.find((x) => x.device_id === id);
          if (!d) throw new WacoflowError(ERR.CONFIG, `${id} is not registered in ${path}; 'wacoflow devices list' shows who is`);
          d.updated_ms = Date.now();
          let secret: string | null = null;
          if (name === 'rotate') {
            secret = newSecret();
            d.secret_hash = await hashSecret(secret);
          } else d.enabled = name === 'enable';
          writeRegistryFile(path, list);
          process.stdout.write(secret ? `new secret for ${id} (shown once): ${secret}\n` : `${id} ${name}d\n`);
        }),
      );
  }
  return devices;
}
