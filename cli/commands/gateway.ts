/** `wacoflow gateway --config FILE`: the MQTT gateway as its own process, bridging devices to Kafka. */
import type { Command } from 'commander';
import { configCommand } from '../run.ts';

export function gatewayCommand(): Command {
  return configCommand(
    'gateway',
    {
      summary: 'run the MQTT gateway: authenticated devices in, Kafka out, PUBACK only after Kafka has the data',
      description:
        'Runs the embedded MQTT broker for the fleet. Devices log in with the credentials in registry_file (manage them ' +
        "with 'wacoflow devices'); every bin is produced to Kafka (acks=all, idempotent) before its PUBACK. See " +
        'gateway/sample.yaml for every setting. Stops cleanly on SIGTERM or Ctrl-C.',
    },
    async () => (await import('./gateway-run.ts')).runGateway,
  );
}
