/**
 * CONNECT: the username is the device id, the password its secret, and the clientId must equal the username
 * (MQTT 3.1.1 §3.1.3.1: the server may restrict clientIds; we do, so one device is one session).
 * Refusals answer CONNACK 0x04 (bad user name or password) or 0x05 (not authorised), §3.2.2.3.
 */
import type { AuthenticateError, Client } from 'aedes';
import type { GatewayMetrics } from '../metrics.ts';
import { verifySecret, type DeviceRegistry } from '../registry/devices.ts';
import type { Sessions } from './session.ts';

const BAD_CREDENTIALS = 4;
const NOT_AUTHORIZED = 5;

function refusal(code: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;
}

/** The common name of the verified client certificate on a TLS connection, if any. */
function certificateCn(client: Client): string | null {
  const conn = (client as unknown as { conn?: { getPeerCertificate?: () => { subject?: { CN?: string | string[] } }; authorized?: boolean } }).conn;
  if (!conn?.getPeerCertificate || !conn.authorized) return null;
  const cn = conn.getPeerCertificate().subject?.CN;
  return Array.isArray(cn) ? (cn[0] ?? null) : (cn ?? null);
}

export function authenticate(registry: DeviceRegistry, sessions: Sessions, metrics: GatewayMetrics, options: { require_certificate_cn: boolean } = { require_certificate_cn: false }) {
  return (client: Client, username: string | undefined, password: Buffer | undefined, done: (err: AuthenticateError | null, ok: boolean | null) => void): void => {
    const refuse = (reason: string, code: number): void => {
      metrics.authFailures.inc({ reason });
      done(refusal(code, reason), false);
    };
    if (!username || !password) return refuse('no_credentials', BAD_CREDENTIALS);
    const device = registry.get(username);
    if (!device) return refuse('unknown_device', BAD_CREDENTIALS);
    if (client.id !== username) return refuse('client_id_mismatch', NOT_AUTHORIZED);
    // Mutual TLS: the certificate must name this device (on the TLS listener; the plain one has no certificate).
    const cn = certificateCn(client);
    if (cn !== null && cn !== username) return refuse('certificate_names_another_device', NOT_AUTHORIZED);
    if (options.require_certificate_cn && cn === null && (client as unknown as { conn?: { encrypted?: boolean } }).conn?.encrypted) {
      return refuse('no_client_certificate', NOT_AUTHORIZED);
    }
    verifySecret(password.toString('utf8'), device.secret_hash).then(
      (ok) => {
        if (!ok) return refuse('bad_password', BAD_CREDENTIALS);
        if (!device.enabled) return refuse('disabled', NOT_AUTHORIZED);
        sessions.set(client, { device_id: device.device_id, site: device.site, role: device.role ?? 'device', inflight: 0, tokens: Number.POSITIVE_INFINITY, tokens_at_ms: Date.now() });
        done(null, true);
      },
      () => refuse('bad_password', BAD_CREDENTIALS),
    );
  };
}
