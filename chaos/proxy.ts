/**
 * A TCP fault proxy for the harness: put it between two processes and choose what the wire does.
 *
 *   pass       bytes flow both ways (after `latency_ms`, when set)
 *   refuse     every open connection is reset and new ones are closed at once (a service that is down)
 *   blackhole  connections stay open but nothing flows either way (a half-open socket: a NAT that forgot the
 *              flow, a cable pulled mid-stream); the endpoints find out only by their own timeouts. A connection
 *              that was open during a blackhole stays silent for good, as a half-open socket does; only new
 *              connections work once the mode is back to pass.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

export class FaultProxy {
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  private readonly silent = new WeakSet<Socket>();
  private mode: ProxyMode = 'pass';
  private latency_ms = 0;
  private readonly upstream: { host: string; port: number };
  port = 0;

  constructor(upstream: { host: string; port: number }) {
    this.upstream = upstream;
    this.server = createServer((client) => this.accept(client));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  set(mode: ProxyMode, latency_ms = this.latency_ms): void {
    this.mode = mode;
    this.latency_ms = latency_ms;
    if (mode === 'blackhole') for (const [a] of this.pairs) this.silent.add(a);
    if (mode === 'refuse') for (const [a, b] of this.pairs) (a.resetAndDestroy(), b.resetAndDestroy());
  }

  /** Resets every open connection once; new ones are let through. */
  dropAll(): void {
    for (const [a, b] of this.pairs) (a.resetAndDestroy(), b.resetAndDestroy());
  }

  connections(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    this.set('refuse');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.mode === 'refuse') return void client.resetAndDestroy();
    const server = connect(this.upstream);
    const pair: [Socket, Socket] = [client, server];
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (this.mode === 'blackhole' || this.silent.has(client)) {
          this.silent.add(client);
          return;
        }
        if (this.latency_ms > 0) setTimeout(() => to.writable && to.write(chunk), this.latency_ms);
        else if (to.writable) to.write(chunk);
      });
    };
    forward(client, server);
    forward(server, client);
    const end = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('close', end).on('error', end);
    server.on('close', end).on('error', end);
  }
}
