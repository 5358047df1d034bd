// connect-to: the rule syntax, which address a host is dialled at, and that
// redirected connections still verify the certificate against the REAL host
// name, through all three transports, against the Azure emulator.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { createPipelineRequest } from '@azure/core-rest-pipeline';
import { type AzureEmulator, startAzureEmulator } from '../../test/azure-emulator/index.ts';
import {
  createSampleCredentials,
  customers,
  sampleWorld,
} from '../../test/azure-emulator/sample-world.ts';
import {
  type AzureTransport,
  type ConnectToRule,
  ConnectToSyntaxError,
  createAzureTransport,
  parseConnectTo,
  resolveConnectTo,
} from './connect-to.ts';

describe('parseConnectTo', () => {
  const rule = (
    host: string,
    port?: number,
    targetHost?: string,
    targetPort?: number,
  ): ConnectToRule => ({
    host,
    port,
    targetHost,
    targetPort,
  });
  const valid: [string, ConnectToRule[]][] = [
    ['', []],
    ['::127.0.0.1:8443', [rule('', undefined, '127.0.0.1', 8443)]],
    [
      'login.microsoftonline.com:443:127.0.0.1:8443',
      [rule('login.microsoftonline.com', 443, '127.0.0.1', 8443)],
    ],
    [
      '*.openai.azure.com::10.0.0.5:',
      [rule('*.openai.azure.com', undefined, '10.0.0.5', undefined)],
    ],
    [
      'Management.Azure.COM:443:Proxy.Internal:8443',
      [rule('management.azure.com', 443, 'proxy.internal', 8443)],
    ],
    ['[::1]:443:[::1]:8443', [rule('::1', 443, '::1', 8443)]],
    [
      'a.example:443:b.example:443, c.example::d.example:1',
      [rule('a.example', 443, 'b.example', 443), rule('c.example', undefined, 'd.example', 1)],
    ],
  ];
  for (const [spec, rules] of valid) {
    it(`parses "${spec}"`, () => assert.deepEqual(parseConnectTo(spec), rules));
  }

  const invalid: [string, RegExp][] = [
    ['localhost', /1 fields instead of 4/],
    ['a:443:b', /3 fields instead of 4/],
    ['a:443:b:443:c', /5 fields instead of 4/],
    ['a:0:b:443', /"0" is not a port/],
    ['a:70000:b:443', /"70000" is not a port/],
    ['a:https:b:443', /"https" is not a port/],
    ['a:443:b:-1', /"-1" is not a port/],
    ['*.:443:b:443', /is not a host name, \*\.suffix or empty/],
    ['*.10.0.0.1:443:b:443', /is not a host name/],
    ['bad host:443:b:443', /is not a host name/],
    ['a:443:[::1:443', /unbalanced/],
    ['a:443:[not-an-ip]:443', /"\[not-an-ip\]" is not a host/],
    ['::127.0.0.1:8443,,', /empty \(a stray comma\?\)/],
  ];
  for (const [spec, why] of invalid) {
    it(`rejects "${spec}" saying why`, () => {
      assert.throws(
        () => parseConnectTo(spec),
        (error: unknown) =>
          error instanceof ConnectToSyntaxError &&
          why.test(error.message) &&
          error.message.includes('expected HOST:PORT:TARGET_HOST:TARGET_PORT'),
      );
    });
  }
});

describe('resolveConnectTo', () => {
  const rules = parseConnectTo(
    'login.microsoftonline.com:443:10.0.0.1:8443,*.openai.azure.com::10.0.0.2:,management.azure.com:8443:10.0.0.3:443,::10.0.0.9:9443',
  );
  const table: [string, number, string, number][] = [
    ['login.microsoftonline.com', 443, '10.0.0.1', 8443],
    ['LOGIN.microsoftonline.com.', 443, '10.0.0.1', 8443],
    ['contoso.openai.azure.com', 443, '10.0.0.2', 443],
    ['contoso.openai.azure.com', 8080, '10.0.0.2', 8080],
    // The wildcard needs a label: the bare suffix falls through to the catch-all.
    ['openai.azure.com', 443, '10.0.0.9', 9443],
    ['management.azure.com', 443, '10.0.0.9', 9443],
    ['management.azure.com', 8443, '10.0.0.3', 443],
  ];
  for (const [host, port, targetHost, targetPort] of table) {
    it(`dials ${host}:${port} at ${targetHost}:${targetPort}`, () => {
      assert.deepEqual(resolveConnectTo(rules, host, port), { host: targetHost, port: targetPort });
    });
  }
  it('keeps the address when no rule matches', () => {
    assert.deepEqual(resolveConnectTo([], 'management.azure.com', 443), {
      host: 'management.azure.com',
      port: 443,
    });
  });
});

describe('createAzureTransport against the emulator', () => {
  let emulator: AzureEmulator;
  let trusted: AzureTransport;
  let untrusted: AzureTransport;
  before(async () => {
    emulator = await startAzureEmulator({ world: sampleWorld(await createSampleCredentials()) });
    trusted = createAzureTransport({
      connectTo: parseConnectTo(emulator.connectTo),
      extraCaPem: [emulator.caPem],
    });
    untrusted = createAzureTransport({ connectTo: parseConnectTo(emulator.connectTo) });
  });
  after(async () => {
    await trusted.close();
    await untrusted.close();
    await emulator.close();
  });

  const discovery = () =>
    `https://login.microsoftonline.com/${customers.healthy.tenantId}/v2.0/.well-known/openid-configuration`;

  // Each transport, reduced to "status code, or the TLS/socket error code".
  const viaAgent = (transport: AzureTransport, url: string) =>
    new Promise<number | string>((resolve) => {
      const req = request(url, { agent: transport.agent }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      req.end();
    });
  const viaFetch = (transport: AzureTransport, url: string) =>
    transport.fetch(url).then(
      (response) => response.status,
      (error: Error) => (error.cause as NodeJS.ErrnoException | undefined)?.code ?? error.message,
    );
  const viaHttpClient = (transport: AzureTransport, url: string) =>
    transport.httpClient.sendRequest(createPipelineRequest({ url })).then(
      (response) => response.status,
      (error: NodeJS.ErrnoException) => error.code ?? error.message,
    );
  const transports = { agent: viaAgent, fetch: viaFetch, httpClient: viaHttpClient };

  for (const [name, send] of Object.entries(transports)) {
    it(`${name}: reaches the real host name at the emulator`, async () => {
      emulator.clearRequests();
      assert.equal(await send(trusted, discovery()), 200);
      assert.equal(emulator.requests()[0]?.host, 'login.microsoftonline.com');
    });

    it(`${name}: still refuses a host the certificate does not name, though redirected`, async () => {
      emulator.clearRequests();
      assert.equal(await send(trusted, 'https://example.org/'), 'ERR_TLS_CERT_ALTNAME_INVALID');
      assert.deepEqual(emulator.requests(), [], 'no request was sent');
    });

    it(`${name}: refuses the emulator without its CA`, async () => {
      assert.equal(await send(untrusted, discovery()), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    });

    it(`${name}: verifies an IP address against the certificate's IP SAN`, async () => {
      assert.equal(await send(trusted, `${emulator.url}/_emulator/requests`), 200);
    });
  }

  it('a rule to an unresolvable target fails like DNS does', async () => {
    const dns = createAzureTransport({
      connectTo: parseConnectTo('gone.openai.azure.com::does-not-exist.invalid:443'),
      extraCaPem: [emulator.caPem],
    });
    try {
      const code = await viaFetch(dns, 'https://gone.openai.azure.com/openai/models');
      assert.ok(code === 'ENOTFOUND' || code === 'EAI_AGAIN', `got ${code}`);
    } finally {
      await dns.close();
    }
  });
});
