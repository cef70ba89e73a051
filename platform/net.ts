/** Listening on a port with an error a person can act on; Nagle's algorithm off on an MQTT client's socket. */
import type { Server } from 'node:net';
import { ERR, WacoflowError } from './errors.ts';

/**
 * Listens on `host:port` (0 = an ephemeral port) and resolves with the address actually bound. A taken port
 * becomes WF_ERR_PORT_IN_USE naming `setting`, the option that chose it.
 */
export function listen(server: Server, host: string, port: number, setting: string): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(new WacoflowError(ERR.PORT_IN_USE, `${setting}: port ${port} on ${host} is already in use; choose another port (0 picks a free one)`, { cause: err }));
      } else if (err.code === 'EACCES') {
        reject(new WacoflowError(ERR.PORT_IN_USE, `${setting}: not allowed to listen on ${host}:${port}; use a port above 1023`, { cause: err }));
      } else {
        reject(new WacoflowError(ERR.CONFIG, `${setting}: cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      }
    };
    const onListening = (): void => {
      server.off('error', onError);
      const a = server.address();
      resolve({ host, port: typeof a === 'object' && a ? a.port : port });
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Nagle's algorithm off on an mqtt.js client's socket (TCP or TLS), for its current connection: small packets
 * (a publish, a PUBACK) go out at once instead of waiting for the peer's TCP ACK of the last one. Call it on
 * every `connect`, since a reconnection brings a new socket.
 */
export function noDelay(client: { stream?: unknown }): void {
  (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
}
