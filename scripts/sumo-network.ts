/**
 * `npm run sumo:network`: rebuilds simulators/sumo/waco.net.xml from simulators/waco/network.yaml with SUMO's
 * netconvert. Run it after changing the network file; a test fails while the committed net file is stale.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildNetFile, laneLengths, NET_FILE } from '../simulators/sumo/net-file.ts';
import { sumoLayout } from '../simulators/sumo/layout.ts';
import { wacoNetwork } from '../simulators/waco/network.ts';

const out = fileURLToPath(NET_FILE);
try {
  await buildNetFile(sumoLayout(wacoNetwork()), out);
  process.stdout.write(`wrote ${out}: ${laneLengths(readFileSync(out, 'utf8')).size} lanes\n`);
} catch (err) {
  process.stderr.write(`sumo:network: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
