/**
 * Operators' device commands (`wacoflow.admin.v1`, sent by central's API) applied on top of the registry: a
 * device an operator disabled is refused even with a valid secret, on every gateway, until it is enabled again.
 * The registry file stays the gateway host's own; these decisions travel through the log.
 */
import type { DeviceCommand } from '../../protocol/index.ts';
import type { DeviceRecord, DeviceRegistry } from './devices.ts';

export class OperatorOverrides implements DeviceRegistry {
  private readonly base: DeviceRegistry;
  private readonly disabled = new Map<string, DeviceCommand>();

  constructor(base: DeviceRegistry) {
    this.base = base;
  }

  get(device_id: string): DeviceRecord | undefined {
    const record = this.base.get(device_id);
    return record && this.disabled.has(device_id) ? { ...record, enabled: false } : record;
  }

  /** Applies a command; true when it newly disables a device (its connection must be closed). */
  apply(command: DeviceCommand): boolean {
    if (command.action === 'enable') {
      this.disabled.delete(command.device_id);
      return false;
    }
    const was = this.disabled.has(command.device_id);
    this.disabled.set(command.device_id, command);
    return !was;
  }
}
