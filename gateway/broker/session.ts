/** What the gateway knows about an authenticated MQTT connection. */
import type { Client } from 'aedes';

export interface Session {
  device_id: string;
  site: string;
}

export class Sessions {
  private readonly byClient = new WeakMap<Client, Session>();

  set(client: Client, session: Session): void {
    this.byClient.set(client, session);
  }

  get(client: Client | null): Session | undefined {
    return client ? this.byClient.get(client) : undefined;
  }
}
