/** `wacoflow build-agent --arch arm64|x64 --out DIR`: the self-contained agent bundle for boards. */
import { Command, Option } from 'commander';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { failing } from '../run.ts';

export function buildAgentCommand(): Command {
  return new Command('build-agent')
    .summary('build the self-contained agent bundle a board runs (runtime, native binding, launcher, unit, manifest)')
    .description(
      'Writes a folder a board runs without anything from the internet: the agent as one ES module, serialport\'s ' +
        'prebuilt binding and the Node.js runtime for the architecture (from the npm registry, cached in .services/), ' +
        'the A/B launcher, the systemd unit, and manifest.json with every file\'s size and SHA-256. Sign it with ' +
        '\'wacoflow release sign\' before announcing it; \'wacoflow flash\' installs it on a board.',
    )
    .addOption(new Option('--arch <arch>', 'the board\'s architecture (Raspberry Pi 3/4/5, Zero 2 W, CM4: arm64)').choices(['arm64', 'x64']).makeOptionMandatory())
    .requiredOption('--out <dir>', 'the folder to write (must not exist or be empty)')
    .option('--version <version>', 'the version the bundle carries (default: the package\'s)')
    .option('--expires <days>', 'boards refuse the bundle after this many days (default: never)')
    .option('--force', 'replace an existing bundle at --out')
    .action(
      failing(async (o: { arch: 'arm64' | 'x64'; out: string; version?: string; expires?: string; force?: boolean }) => {
        const { buildAgentBundle } = await import('../../hardware/bundle/build.ts');
        const days = o.expires === undefined ? null : Number(o.expires);
        if (days !== null && !(days > 0)) throw new WacoflowError(ERR.CONFIG, `--expires "${o.expires}": give a number of days, for example --expires 90`);
        await buildAgentBundle({
          arch: o.arch, out: o.out, force: o.force ?? false, log: (line) => process.stderr.write(`${line}\n`),
          ...(o.version ? { version: o.version } : {}),
          expires_ms: days === null ? null : Date.now() + days * 86_400_000,
        });
      }),
    );
}
