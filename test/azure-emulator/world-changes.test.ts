// The world changed while clients run: the next request sees the change,
// even with a token the client already holds.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AuthenticationRequiredError } from '@azure/identity';
import { AuthenticationError, NotFoundError } from 'openai';
import { z } from 'zod';
import { type EmulatorFixture, startEmulatorFixture } from './fixtures.ts';
import { customers, platform } from './sample-world.ts';

const { healthy, firewall } = customers;
const hello = [{ role: 'user' as const, content: 'Hello' }];

let fx: EmulatorFixture;
before(async () => {
  fx = await startEmulatorFixture();
});
beforeEach(() => fx.reset());
after(() => fx.close());

const tokenRequests = () => fx.emulator.requests({ service: 'entra', method: 'POST' }).length;

describe('run-time changes', () => {
  it('a revoked role denies the next call made with the cached token', async () => {
    const client = fx.openAi(healthy.resource, { tenantId: healthy.tenantId });
    await client.chat.completions.create({ model: 'gpt-4o', messages: hello });
    fx.emulator.revokeRole(
      healthy.resource,
      healthy.servicePrincipalObjectId,
      'Cognitive Services OpenAI User',
    );
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: hello }),
      (error: unknown) => {
        assert.ok(error instanceof AuthenticationError);
        assert.equal(error.code, 'PermissionDenied');
        return true;
      },
    );
    assert.equal(tokenRequests(), 1, 'the second call reused the token');
  });

  it('a deleted deployment is gone from the data plane and from ARM', async () => {
    const client = fx.openAi(healthy.resource, { tenantId: healthy.tenantId });
    await client.chat.completions.create({ model: 'gpt-4o', messages: hello });
    fx.emulator.deleteDeployment(healthy.resource, 'gpt-4o');
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: hello }),
      (error: unknown) => {
        assert.ok(error instanceof NotFoundError);
        assert.equal(error.code, 'DeploymentNotFound');
        return true;
      },
    );
    const names = [];
    for await (const d of fx
      .arm(healthy.subscriptionId, { tenantId: healthy.tenantId })
      .deployments.list(healthy.resourceGroup, healthy.resource)) {
      names.push(d.name);
    }
    assert.deepEqual(names, ['text-embedding-3-small']);
  });

  it('withdrawn consent fails the next token request and kills the role assignments', async () => {
    const client = fx.openAi(healthy.resource, { tenantId: healthy.tenantId });
    await client.chat.completions.create({ model: 'gpt-4o', messages: hello });
    fx.emulator.withdrawConsent(platform.appId, healthy.tenantId);

    // The held token is still valid, but its principal no longer exists.
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: hello }),
      AuthenticationError,
    );
    await assert.rejects(
      fx
        .secretCredential(healthy.tenantId)
        .getToken('https://cognitiveservices.azure.com/.default'),
      (error: unknown) =>
        error instanceof AuthenticationRequiredError && /AADSTS700016/.test(error.message),
    );
  });

  it('allowlisting the egress IP opens the firewall for the next call', async () => {
    const client = fx.openAi(firewall.resource, { tenantId: firewall.tenantId });
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: hello }), {
      status: 403,
    });
    fx.emulator.updateWorld((world) => {
      world.resources
        .find((r) => r.name === firewall.resource)
        ?.network.ipRules.push(platform.egressIp);
    });
    assert.equal(
      (await client.chat.completions.create({ model: 'gpt-4o', messages: hello })).object,
      'chat.completion',
    );
  });

  it('rejects an invalid world and keeps the current one', () => {
    const before = fx.emulator.world();
    assert.throws(
      () =>
        fx.emulator.updateWorld((world) => {
          world.caller.egressIp = 'not-an-ip';
        }),
      z.ZodError,
    );
    assert.throws(() => fx.emulator.setWorld({ ...before, tenants: 'none' } as never), z.ZodError);
    assert.deepEqual(fx.emulator.world(), before);
  });

  it('world() is a copy: editing it changes nothing', async () => {
    const copy = fx.emulator.world();
    copy.resources = [];
    assert.ok(fx.emulator.world().resources.length > 0);
  });

  it('names what a mutator could not find', () => {
    assert.throws(
      () => fx.emulator.deleteDeployment(healthy.resource, 'nope'),
      /has no deployment nope/,
    );
    assert.throws(
      () => fx.emulator.revokeRole('nowhere', healthy.servicePrincipalObjectId, 'Reader'),
      /no resource named nowhere/,
    );
    assert.throws(
      () => fx.emulator.withdrawConsent(platform.appId, customers.consentMissing.tenantId),
      /has no consent/,
    );
  });
});
