/** What the gateway knows about an authenticated MQTT connection. */
import type { Client } from 'aedes';

export interface Session {
  device_id: string;
  site: string;
  role: 'device' | 'operator';
  /** Publishes waiting for the log. */
  inflight: number;
  /** Token bucket for the message rate. */
  tokens: number;
  tokens_at_ms: number;
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
