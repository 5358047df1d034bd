// How the operator's Kubernetes client connects: kept-alive HTTP/1.1 connections,
// against a server that offers HTTP/2 the way kube-apiserver does (ADR 0010).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import {
  createCertificateAuthority,
  issueServerCertificate,
} from '../../test/azure-emulator/pki.ts';
import { makeApiClient } from './transport.ts';

let server: ReturnType<typeof createSecureServer>;
let caPem = '';
const seen = { connections: 0, versions: [] as string[] };

before(async () => {
  const ca = await createCertificateAuthority();
  const certificate = await issueServerCertificate(ca, ['localhost']);
  caPem = ca.certPem;
  server = createSecureServer({
    key: certificate.keyPem,
    cert: certificate.certPem,
    allowHTTP1: true,
  });
  server.on('secureConnection', () => seen.connections++);
  server.on('request', (request, response) => {
    seen.versions.push(request.httpVersion);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

after(() => server.close());

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  const { port } = server.address() as AddressInfo;
  kc.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: `https://127.0.0.1:${port}`,
        caData: Buffer.from(caPem).toString('base64'),
      },
    ],
    users: [{ name: 'u', token: 'not-a-real-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function readNamespaces(core: CoreV1Api, times: number) {
  seen.connections = 0;
  seen.versions = [];
  for (let i = 0; i < times; i++) await core.readNamespace({ name: 'a' });
  return { ...seen };
}

test('requests reuse kept-alive HTTP/1.1 connections though the server offers HTTP/2', async () => {
  const shared = await readNamespaces(makeApiClient(kubeConfig(), CoreV1Api), 10);
  assert.deepEqual(new Set(shared.versions), new Set(['1.1']));
  // undici may open a second before the first is back in its pool, never more.
  assert.ok(shared.connections <= 2, `${shared.connections} connections for 10 requests`);

  // What client-node does by itself: a connection per request, and HTTP/2.
  const plain = await readNamespaces(kubeConfig().makeApiClient(CoreV1Api), 2);
  assert.deepEqual(plain.versions, ['2.0', '2.0']);
  assert.equal(plain.connections, 2);
});
