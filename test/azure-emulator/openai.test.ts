// The Azure OpenAI data plane through the real openai SDK (AzureOpenAI with an
// Entra token provider): successful calls, and every failure of AZURE-FACTS.md
// in Azure's order, as the SDK surfaces it (error class, status, code).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  type APIError,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from 'openai';
import { type EmulatorFixture, startEmulatorFixture } from './fixtures.ts';
import { signJwt } from './jwt.ts';
import { chatDeployment, customers, platform } from './sample-world.ts';

const { healthy, roleMissing, firewall, deploymentMissing, usGov } = customers;
const hello = [{ role: 'user' as const, content: 'Hello there' }];

let fx: EmulatorFixture;
before(async () => {
  fx = await startEmulatorFixture();
});
beforeEach(() => fx.reset());
after(() => fx.close());

function healthyClient(options: Parameters<EmulatorFixture['openAi']>[1] = {}) {
  return fx.openAi(healthy.resource, { tenantId: healthy.tenantId, ...options });
}

// Asserts the SDK error class, HTTP status and (where the body has one) code.
async function assertApiError(
  call: Promise<unknown>,
  errorClass: typeof APIError<number | undefined>,
  status: number,
  code: string | undefined,
): Promise<APIError> {
  let caught: unknown;
  await assert.rejects(call, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof errorClass, `expected ${errorClass.name}, got ${String(caught)}`);
  assert.equal(caught.status, status);
  assert.equal(caught.code ?? undefined, code);
  return caught;
}

describe('successful calls', () => {
  it('answers a chat completion and counts its tokens', async () => {
    const { data, response } = await healthyClient()
      .chat.completions.create({ model: 'gpt-4o', messages: hello })
      .withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.match(data.choices[0]?.message.content ?? '', /Hello there/);
    assert.ok(
      data.usage !== undefined && data.usage.prompt_tokens > 0 && data.usage.completion_tokens > 0,
    );
    assert.ok(Number(response.headers.get('x-ratelimit-remaining-requests')) > 0);
    const [entry] = fx.emulator.requests({ service: 'openai' });
    assert.equal(entry?.outcome, 'ok');
    assert.equal(entry?.tokens, data.usage.total_tokens);
  });

  it('stops at max_tokens with finish_reason length', async () => {
    const data = await healthyClient().chat.completions.create({
      model: 'gpt-4o',
      messages: hello,
      max_tokens: 1,
    });
    assert.equal(data.choices[0]?.finish_reason, 'length');
    assert.equal(data.usage?.completion_tokens, 1);
  });

  it('returns embeddings of the model dimension, the same for the same text', async () => {
    const data = await healthyClient().embeddings.create({
      model: 'text-embedding-3-small',
      input: ['first text', 'second text', 'first text'],
    });
    assert.equal(data.data.length, 3);
    assert.equal(data.data[0]?.embedding.length, 1536);
    assert.deepEqual(data.data[0]?.embedding, data.data[2]?.embedding);
    assert.notDeepEqual(data.data[0]?.embedding, data.data[1]?.embedding);
    assert.ok(data.usage.prompt_tokens > 0);
  });

  it('lists models (not deployments)', async () => {
    const ids: string[] = [];
    for await (const model of healthyClient().models.list()) ids.push(model.id);
    assert.ok(ids.includes('gpt-4o-2024-08-06'));
    assert.ok(ids.includes('text-embedding-3-small'));
  });

  it('serves US Gov resources on *.openai.azure.us with a Gov token', async () => {
    const client = fx.openAi(usGov.resource, { cloud: 'usgov', tenantId: usGov.tenantId });
    const data = await client.chat.completions.create({ model: 'gpt-4o', messages: hello });
    assert.equal(data.object, 'chat.completion');
    assert.equal(
      fx.emulator.requests({ host: 'adatum-gov-openai.openai.azure.us' })[0]?.outcome,
      'ok',
    );
  });
});

describe('failures in Azure order', () => {
  it('404 for an unsupported api-version', async () => {
    const error = await assertApiError(
      healthyClient({ apiVersion: '2023-01-01' }).chat.completions.create({
        model: 'gpt-4o',
        messages: hello,
      }),
      NotFoundError,
      404,
      '404',
    );
    assert.match(error.message, /Resource not found/);
  });

  it('403 when the egress IP is not in the firewall rules', async () => {
    const error = await assertApiError(
      fx.openAi(firewall.resource, { tenantId: firewall.tenantId }).chat.completions.create({
        model: 'gpt-4o',
        messages: hello,
      }),
      PermissionDeniedError,
      403,
      '403',
    );
    assert.match(error.message, /Virtual Network\/Firewall rules/);
  });

  it('403 when public access is disabled, unless the caller comes through a private endpoint', async () => {
    fx.emulator.updateWorld((world) => {
      const resource = world.resources.find((r) => r.name === healthy.resource);
      if (resource !== undefined) resource.network.publicNetworkAccess = 'Disabled';
    });
    const call = () =>
      healthyClient().chat.completions.create({ model: 'gpt-4o', messages: hello });
    await assertApiError(call(), PermissionDeniedError, 403, '403');

    fx.emulator.updateWorld((world) => {
      world.caller.privateEndpointAccess.push(healthy.resource);
    });
    assert.equal((await call()).object, 'chat.completion');
  });

  it('checks api-version before the firewall, and the firewall before the token', async () => {
    const client = fx.openAi(firewall.resource, {
      tokenProvider: async () => 'not-a-jwt',
      apiVersion: '2023-01-01',
    });
    await assertApiError(
      client.chat.completions.create({ model: 'gpt-4o', messages: hello }),
      NotFoundError,
      404,
      '404',
    );
    const withVersion = fx.openAi(firewall.resource, { tokenProvider: async () => 'not-a-jwt' });
    await assertApiError(
      withVersion.chat.completions.create({ model: 'gpt-4o', messages: hello }),
      PermissionDeniedError,
      403,
      '403',
    );
  });

  it('401 without a token (the body has no error wrapper)', async () => {
    const response = await fx.transport.fetch(
      `https://${healthy.resource}.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: hello }),
      },
    );
    assert.equal(response.status, 401);
    assert.deepEqual(await response.json(), {
      statusCode: 401,
      message:
        'Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired.',
    });
    assert.equal(fx.emulator.requests({ service: 'openai' })[0]?.outcome, 'TokenMissing');
  });

  it('401 for an expired token', async () => {
    const expired = fx.emulator.mintAccessToken({
      tenantId: healthy.tenantId,
      appId: platform.appId,
      audience: 'https://cognitiveservices.azure.com',
      offsetSeconds: -7200,
    });
    const error = await assertApiError(
      healthyClient({ tokenProvider: async () => expired }).chat.completions.create({
        model: 'gpt-4o',
        messages: hello,
      }),
      AuthenticationError,
      401,
      undefined,
    );
    assert.match(error.message, /Access token is missing, invalid, audience is incorrect/);
    assert.equal(fx.emulator.requests({ service: 'openai' })[0]?.outcome, 'TokenExpired');
  });

  it('401 for a token with the wrong audience (a management token)', async () => {
    await assertApiError(
      healthyClient({ scope: 'https://management.azure.com/.default' }).chat.completions.create({
        model: 'gpt-4o',
        messages: hello,
      }),
      AuthenticationError,
      401,
      undefined,
    );
    assert.equal(fx.emulator.requests({ service: 'openai' })[0]?.outcome, 'TokenAudienceMismatch');
  });

  it('401 for a public-cloud token at a US Gov resource', async () => {
    await assertApiError(
      fx
        .openAi(usGov.resource, {
          cloud: 'usgov',
          credential: fx.secretCredential(usGov.tenantId),
          scope: 'https://cognitiveservices.azure.com/.default',
        })
        .chat.completions.create({ model: 'gpt-4o', messages: hello }),
      AuthenticationError,
      401,
      undefined,
    );
  });

  it('401 for a token not signed by Entra', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = signJwt(
      { alg: 'RS256', kid: 'forged' },
      {
        aud: 'https://cognitiveservices.azure.com',
        tid: healthy.tenantId,
        oid: healthy.servicePrincipalObjectId,
        appid: platform.appId,
        nbf: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 3600,
      },
      privateKey,
    );
    await assertApiError(
      healthyClient({ tokenProvider: async () => forged }).chat.completions.create({
        model: 'gpt-4o',
        messages: hello,
      }),
      AuthenticationError,
      401,
      undefined,
    );
    assert.equal(fx.emulator.requests({ service: 'openai' })[0]?.outcome, 'TokenInvalid');
  });

  it('400 for a token from another tenant', async () => {
    const error = await assertApiError(
      fx.openAi(roleMissing.resource, { tenantId: healthy.tenantId }).chat.completions.create({
        model: 'gpt-4o',
        messages: hello,
      }),
      BadRequestError,
      400,
      'Tenant provided in token does not match resource token',
    );
    assert.match(
      error.message,
      new RegExp(`Token tenant ${healthy.tenantId} does not match resource tenant`),
    );
  });

  it('401 PermissionDenied without a data-plane role', async () => {
    const error = await assertApiError(
      fx.openAi(roleMissing.resource, { tenantId: roleMissing.tenantId }).chat.completions.create({
        model: 'gpt-4o',
        messages: hello,
      }),
      AuthenticationError,
      401,
      'PermissionDenied',
    );
    assert.match(error.message, new RegExp(roleMissing.servicePrincipalObjectId));
  });

  it('401 PermissionDenied with only a management role (Reader)', async () => {
    fx.emulator.revokeRole(
      healthy.resource,
      healthy.servicePrincipalObjectId,
      'Cognitive Services OpenAI User',
    );
    await assertApiError(
      healthyClient().chat.completions.create({ model: 'gpt-4o', messages: hello }),
      AuthenticationError,
      401,
      'PermissionDenied',
    );
  });

  it('404 DeploymentNotFound', async () => {
    await assertApiError(
      fx
        .openAi(deploymentMissing.resource, { tenantId: deploymentMissing.tenantId })
        .chat.completions.create({
          model: 'gpt-4o',
          messages: hello,
        }),
      NotFoundError,
      404,
      'DeploymentNotFound',
    );
  });

  it('400 OperationNotSupported for chat on an embeddings deployment', async () => {
    const error = await assertApiError(
      healthyClient().chat.completions.create({ model: 'text-embedding-3-small', messages: hello }),
      BadRequestError,
      400,
      'OperationNotSupported',
    );
    assert.match(error.message, /chatCompletion operation does not work with the specified model/);
  });

  it('429 once the deployment quota is used, with retry-after and remaining headers', async () => {
    fx.emulator.updateWorld((world) => {
      const resource = world.resources.find((r) => r.name === healthy.resource);
      // Capacity 1: 6 requests and 1000 tokens per minute.
      if (resource !== undefined)
        resource.deployments = [chatDeployment({ sku: { name: 'Standard', capacity: 1 } })];
    });
    const client = healthyClient();
    for (let i = 0; i < 6; i++)
      await client.chat.completions.create({ model: 'gpt-4o', messages: hello });
    const error = await assertApiError(
      client.chat.completions.create({ model: 'gpt-4o', messages: hello }),
      RateLimitError,
      429,
      '429',
    );
    assert.ok(Number(error.headers?.get('retry-after')) > 0);
    assert.equal(error.headers?.get('x-ratelimit-remaining-requests'), '0');
    assert.ok(error.headers?.get('x-ratelimit-remaining-tokens') !== null);
  });

  it('retries a 429 by default (maxRetries), honouring retry-after', async () => {
    fx.emulator.setFaults([
      {
        match: { service: 'openai', deployment: 'gpt-4o' },
        kind: 'status',
        status: 429,
        retryAfterSeconds: 1,
        remaining: 1,
      },
    ]);
    const data = await healthyClient({ maxRetries: 2 }).chat.completions.create({
      model: 'gpt-4o',
      messages: hello,
    });
    assert.equal(data.object, 'chat.completion');
    const outcomes = fx.emulator.requests({ service: 'openai' }).map((r) => r.outcome);
    assert.deepEqual(outcomes, ['fault:status', 'ok']);
  });

  it('400 for empty messages after every other check, spending no tokens', async () => {
    const error = await assertApiError(
      healthyClient().chat.completions.create({ model: 'gpt-4o', messages: [] }),
      BadRequestError,
      400,
      undefined,
    );
    assert.equal(error.message, "400 [] is too short - 'messages'");
    assert.deepEqual(error.error, {
      message: "[] is too short - 'messages'",
      type: 'invalid_request_error',
      param: null,
      code: null,
    });
    const [entry] = fx.emulator.requests({ service: 'openai' });
    assert.equal(entry?.outcome, 'InvalidRequest');
    assert.equal(entry?.tokens, undefined);
  });

  it('checks the deployment before the body: the empty-messages probe tells a missing deployment apart', async () => {
    await assertApiError(
      fx
        .openAi(deploymentMissing.resource, { tenantId: deploymentMissing.tenantId })
        .chat.completions.create({
          model: 'gpt-4o',
          messages: [],
        }),
      NotFoundError,
      404,
      'DeploymentNotFound',
    );
  });
});
