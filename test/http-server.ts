/** A local HTTP server on an ephemeral port for a test, with its base URL. For tests only. */
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestHttpServer {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Ends every open connection (a test may leave responses hanging on purpose) and stops listening. */
  close(): void;
}

export async function serveHttp(handler: RequestListener): Promise<TestHttpServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
