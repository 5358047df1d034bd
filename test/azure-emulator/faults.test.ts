// Injected faults as each real client experiences them: latency, a hang
// (only the client's own timeout ends it), 5xx, and a connection reset.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { RestError } from '@azure/core-rest-pipeline';
import { AuthenticationRequiredError, ClientSecretCredential } from '@azure/identity';
import { APIConnectionError, APIConnectionTimeoutError, InternalServerError } from 'openai';
import { createAzureTransport, parseConnectTo } from '../../src/azure/connect-to.ts';
import { type EmulatorFixture, startEmulatorFixture } from './fixtures.ts';
import { customers, platform } from './sample-world.ts';

const { healthy, firewall } = customers;
const dataPlaneScope = 'https://cognitiveservices.azure.com/.default';

let fx: EmulatorFixture;
before(async () => {
  fx = await startEmulatorFixture();
});
beforeEach(() => fx.reset());
after(() => fx.close());

const chat = (options: { timeoutMs?: number; maxRetries?: number } = {}) =>
  fx
    .openAi(healthy.resource, { tenantId: healthy.tenantId, ...options })
    .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'ping' }] });
const readAccount = (options = {}) =>
  fx
    .arm(healthy.subscriptionId, { tenantId: healthy.tenantId })
    .accounts.get(healthy.resourceGroup, healthy.resource, options);

describe('data plane (openai SDK)', () => {
  it('latency delays the answer, which is then normal', async () => {
    fx.emulator.setFaults([{ match: { service: 'openai' }, kind: 'latency', ms: 300 }]);
    const started = Date.now();
    assert.equal((await chat()).object, 'chat.completion');
    assert.ok(Date.now() - started >= 300);
    const [entry] = fx.emulator.requests({ service: 'openai' });
    assert.equal(entry?.fault, 'latency');
    assert.equal(entry?.outcome, 'ok');
  });

  it('a hang ends with the SDK timeout as APIConnectionTimeoutError', async () => {
    fx.emulator.setFaults([{ match: { service: 'openai' }, kind: 'hang' }]);
    await assert.rejects(chat({ timeoutMs: 300 }), APIConnectionTimeoutError);
    assert.equal(fx.emulator.requests({ service: 'openai' })[0]?.outcome, 'fault:hang');
  });

  it('a 503 is InternalServerError with status 503', async () => {
    fx.emulator.setFaults([{ match: { service: 'openai' }, kind: 'status', status: 503 }]);
    await assert.rejects(chat(), (error: unknown) => {
      assert.ok(error instanceof InternalServerError);
      assert.equal(error.status, 503);
      return true;
    });
  });

  it('a reset is APIConnectionError, and the SDK retries it when allowed', async () => {
    fx.emulator.setFaults([{ match: { service: 'openai' }, kind: 'reset', remaining: 1 }]);
    await assert.rejects(chat(), (error: unknown) => {
      assert.ok(
        error instanceof APIConnectionError && !(error instanceof APIConnectionTimeoutError),
      );
      return true;
    });
    fx.emulator.setFaults([{ match: { service: 'openai' }, kind: 'reset', remaining: 1 }]);
    assert.equal((await chat({ maxRetries: 1 })).object, 'chat.completion');
    const outcomes = fx.emulator.requests({ service: 'openai' }).map((r) => r.outcome);
    assert.deepEqual(outcomes, ['fault:reset', 'fault:reset', 'ok']);
  });

  it('matches on resource and stops after `remaining` requests', async () => {
    fx.emulator.setFaults([
      { match: { service: 'openai', resource: firewall.resource }, kind: 'status', status: 503 },
    ]);
    assert.equal((await chat()).object, 'chat.completion');
    fx.emulator.setFaults([
      {
        match: { service: 'openai', resource: healthy.resource },
        kind: 'status',
        status: 503,
        remaining: 1,
      },
    ]);
    await assert.rejects(chat(), InternalServerError);
    assert.equal((await chat()).object, 'chat.completion');
    assert.equal(fx.emulator.world().faults[0]?.remaining, 0);
  });
});

describe('ARM (core-rest-pipeline)', () => {
  it('a hang ends with the request timeout as AbortError', async () => {
    fx.emulator.setFaults([{ match: { service: 'arm' }, kind: 'hang' }]);
    await assert.rejects(readAccount({ requestOptions: { timeout: 300 } }), { name: 'AbortError' });
  });

  it('a 503 is RestError with statusCode 503', async () => {
    fx.emulator.setFaults([{ match: { service: 'arm' }, kind: 'status', status: 503 }]);
    await assert.rejects(readAccount(), (error: unknown) => {
      assert.ok(error instanceof RestError);
      assert.equal(error.statusCode, 503);
      assert.equal(error.code, 'ServiceUnavailable');
      return true;
    });
  });

  it('a reset is RestError with code ECONNRESET and no status', async () => {
    fx.emulator.setFaults([{ match: { service: 'arm' }, kind: 'reset' }]);
    await assert.rejects(readAccount(), (error: unknown) => {
      assert.ok(error instanceof RestError);
      assert.equal(error.code, 'ECONNRESET');
      assert.equal(error.statusCode, undefined);
      return true;
    });
  });
});

describe('Entra (@azure/identity)', () => {
  it('a hang is not ended by getToken options: the caller has to bound it', async () => {
    fx.emulator.setFaults([
      { match: { service: 'entra', tenantId: healthy.tenantId }, kind: 'hang' },
    ]);
    // A transport of its own, so the hung connection can be cut afterwards.
    const transport = createAzureTransport({
      connectTo: parseConnectTo(fx.emulator.connectTo),
      extraCaPem: [fx.emulator.caPem],
    });
    const credential = new ClientSecretCredential(
      healthy.tenantId,
      platform.appId,
      platform.clientSecret,
      {
        ...fx.identityOptions(),
        httpClient: transport.httpClient,
      },
    );
    const pending = credential.getToken(dataPlaneScope, {
      abortSignal: AbortSignal.timeout(200),
      requestOptions: { timeout: 200 },
    });
    const settled = pending.then(
      () => 'resolved',
      () => 'rejected',
    );
    const outcome = await Promise.race([
      settled,
      new Promise((resolve) => setTimeout(() => resolve('still pending'), 1000)),
    ]);
    assert.equal(outcome, 'still pending');

    // Cutting the connection makes identity retry, and without the fault it succeeds.
    fx.emulator.setFaults([]);
    await transport.close();
    assert.equal(await settled, 'resolved');
  });

  it('a 503 is retried, and the token arrives once the service recovers', async () => {
    fx.emulator.setFaults([
      { match: { service: 'entra' }, kind: 'status', status: 503, remaining: 1 },
    ]);
    const token = await fx.secretCredential(healthy.tenantId).getToken(dataPlaneScope);
    assert.ok(token.token.length > 0);
    assert.deepEqual(
      fx.emulator.requests({ service: 'entra' }).map((r) => r.outcome),
      ['fault:status', 'ok'],
    );
  });

  it('persistent resets end in AuthenticationRequiredError caused by network_error', async () => {
    fx.emulator.setFaults([{ match: { service: 'entra' }, kind: 'reset' }]);
    await assert.rejects(
      fx.secretCredential(healthy.tenantId).getToken(dataPlaneScope),
      (error: unknown) => {
        assert.ok(error instanceof AuthenticationRequiredError);
        const cause = error.cause as { name?: string; errorCode?: string };
        assert.equal(cause.name, 'ClientAuthError');
        assert.equal(cause.errorCode, 'network_error');
        return true;
      },
    );
    assert.equal(fx.emulator.requests({ service: 'entra', outcome: 'fault:reset' }).length, 4);
  });
});
