// /healthz (the process is alive), /readyz (caches synced, able to reconcile) and
// /metrics (Prometheus text format).
import { createServer, type Server } from 'node:http';

export interface Probes {
  ready(): boolean;
  metrics(): string;
}

export function startHttpServer(address: string, probes: Probes): Promise<Server> {
  const [host, port] = splitAddress(address);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz')
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (path === '/readyz') {
      const ready = probes.ready();
      return void res
        .writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ready ? 'ok\n' : 'not ready\n');
    }
    if (path === '/metrics') {
      return void res
        .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
        .end(probes.metrics());
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function splitAddress(address: string): [string, number] {
  const index = address.lastIndexOf(':');
  return [address.slice(0, index) || '0.0.0.0', Number(address.slice(index + 1))];
}
