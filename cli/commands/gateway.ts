/** `wacoflow gateway --config FILE`: the MQTT gateway as its own process, bridging devices to Kafka. */
import { Command } from 'commander';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import type { LogLevel } from '../../platform/logger.ts';
import { fail } from '../run.ts';

export function gatewayCommand(): Command {
  return new Command('gateway')
    .summary('run the MQTT gateway: authenticated devices in, Kafka out, PUBACK only after Kafka has the data')
    .description(
      'Runs the embedded MQTT broker for the fleet. Devices log in with the credentials in registry_file (manage them ' +
        "with 'wacoflow devices'); every bin is produced to Kafka (acks=all, idempotent) before its PUBACK. See " +
        'gateway/sample.yaml for every setting. Stops cleanly on SIGTERM or Ctrl-C.',
    )
    .option('-c, --config <file>', 'gateway configuration (YAML); required')
    .option('--log-level <level>', 'error, warn, info or debug', 'info')
    .action(async (o: { config?: string; logLevel: LogLevel }) => {
      try {
        if (!o.config) throw new WacoflowError(ERR.CONFIG, '--config: give the gateway configuration file, for example --config /etc/wacoflow/gateway.yaml');
        const { runGateway } = await import('./gateway-run.ts');
        await runGateway(o.config, o.logLevel);
      } catch (err) {
        fail(err);
      }
    });
}
