/**
 * `wacoflow flash --board B --device-id ID --site S --gateway URL (--out DIR | --boot PATH | --ssh USER@HOST)`:
 * provisions a board — registers it with a new secret and writes or installs its payload (hardware/flash/).
 */
import { Command, Option } from 'commander';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { failing, VERSION } from '../run.ts';
import { registryPath } from './devices.ts';

interface Opts {
  board: string; deviceId: string; site: string; gateway: string; out?: string; boot?: string; ssh?: string; sshPort?: string; sshIdentity?: string;
  sshOption: string[]; root?: string; registry?: string; ca?: string; deviceCaCert?: string; deviceCaKey?: string; releaseKey?: string; inputs?: string;
  bundle?: string; force?: boolean;
}

export function flashCommand(): Command {
  return new Command('flash')
    .summary('provision a board: register it, and write or install its agent, config and credentials')
    .description(
      'Registers the device in the gateway\'s registry with a new secret and delivers the board\'s payload (agent bundle, agent.yaml, credentials, install.sh) in one of three ways:\n' +
        '  --out DIR          write the payload to DIR (run `sudo sh DIR/install.sh` on the board)\n' +
        '  --boot PATH        into a mounted Raspberry Pi OS boot partition: cloud-init installs it on first boot, offline\n' +
        '  --ssh USER@HOST    copy it to a running board and run install.sh there with sudo\n' +
        'A board already in the registry, or a target that already has a payload, is refused unless --force (which gives it a new secret).',
    )
    .requiredOption('--board <name>', 'board profile (hardware/boards/): rpi4, rpi5, rpi-zero2w, cm4')
    .requiredOption('--device-id <id>', "the board's id: its MQTT clientId and username")
    .requiredOption('--site <site>', 'the site its topics live under')
    .requiredOption('--gateway <url>', "the gateway's MQTT URL: mqtt://host:1883 or mqtts://host:8883")
    .option('--out <dir>', 'write the payload to this folder')
    .option('--boot <path>', 'the mounted boot partition of a Raspberry Pi OS image')
    .option('--ssh <user@host>', 'install on a running board over SSH')
    .option('--ssh-port <port>', 'SSH port (with --ssh)')
    .option('--ssh-identity <file>', 'SSH private key (with --ssh)')
    .addOption(new Option('--ssh-option <key=value>', 'extra ssh -o option, repeatable (with --ssh)').argParser((v: string, prev: string[] = []) => [...prev, v]).default([]))
    .option('--root <dir>', 'install.sh --root on the board (with --ssh; default /)')
    .option('--registry <file>', 'the device registry file (or WACOFLOW_REGISTRY_FILE)')
    .option('--inputs <file>', "a YAML list of the board's inputs (default: the board profile's, if it has some)")
    .option('--ca <file>', "the CA certificate that signed the gateway's certificate (mqtts://)")
    .option('--device-ca-cert <file>', 'mutual TLS: the CA the gateway trusts for device certificates; a client certificate is issued with CN = the device id')
    .option('--device-ca-key <file>', "mutual TLS: that CA's private key")
    .option('--release-key <file>', 'the Ed25519 public key (PEM) the board trusts for updates')
    .option('--bundle <dir>', "an agent bundle built with 'wacoflow build-agent' (default: build one for the board)")
    .option('--force', 'replace a provisioned board: new secret, new payload')
    .action(
      failing(async (o: Opts) => {
        const targets = [o.out && '--out', o.boot && '--boot', o.ssh && '--ssh'].filter(Boolean);
        if (targets.length !== 1) {
          throw new WacoflowError(ERR.CONFIG, `${targets.length ? targets.join(' and ') : '--out, --boot or --ssh'}: give exactly one of --out DIR, --boot PATH or --ssh USER@HOST`);
        }
        if (!o.ssh && (o.sshPort || o.sshIdentity || o.root || o.sshOption.length)) throw new WacoflowError(ERR.CONFIG, '--ssh-port, --ssh-identity, --ssh-option and --root go with --ssh');
        const port = o.sshPort === undefined ? undefined : Number(o.sshPort);
        if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65_536)) throw new WacoflowError(ERR.CONFIG, `--ssh-port "${o.sshPort}": give a port number 1–65535`);
        const registry = registryPath(o);
        const { flash } = await import('../../hardware/flash/flash.ts');
        const r = await flash({
          board: o.board, device_id: o.deviceId, site: o.site, gateway: o.gateway, registry, ca: o.ca, device_ca_cert: o.deviceCaCert, device_ca_key: o.deviceCaKey,
          release_key: o.releaseKey, inputs: o.inputs, bundle: o.bundle, force: !!o.force, version: VERSION,
          target: o.out ? { kind: 'out', dir: o.out } : o.boot ? { kind: 'boot', path: o.boot }
            : { kind: 'ssh', dest: o.ssh!, port, identity: o.sshIdentity, options: o.sshOption, root: o.root, interactive: !!process.stdin.isTTY },
          log: (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(`${r.summary.join('\n')}\n`);
      }),
    );
}
