// ARM through the real @azure/arm-cognitiveservices client pointed at the
// real management host: the account's network posture, the deployment
// inventory, and the failures the operator must classify as "unknown".
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { RestError } from '@azure/core-rest-pipeline';
import { type EmulatorFixture, startEmulatorFixture } from './fixtures.ts';
import { customers } from './sample-world.ts';

const { healthy, firewall, deploymentMissing, roleMissing, usGov } = customers;

let fx: EmulatorFixture;
before(async () => {
  fx = await startEmulatorFixture();
});
beforeEach(() => fx.reset());
after(() => fx.close());

async function assertRestError(
  call: Promise<unknown>,
  statusCode: number,
  code: string,
): Promise<RestError> {
  let caught: unknown;
  await assert.rejects(call, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof RestError, `expected RestError, got ${String(caught)}`);
  assert.equal(caught.statusCode, statusCode);
  assert.equal(caught.code, code);
  return caught;
}

describe('reads', () => {
  it('gets the account with endpoint and network posture', async () => {
    const account = await fx
      .arm(firewall.subscriptionId, { tenantId: firewall.tenantId })
      .accounts.get(firewall.resourceGroup, firewall.resource);
    assert.equal(account.kind, 'OpenAI');
    assert.equal(account.name, firewall.resource);
    assert.equal(account.location, 'eastus');
    assert.equal(
      account.id,
      `/subscriptions/${firewall.subscriptionId}/resourceGroups/rg-openai/providers/Microsoft.CognitiveServices/accounts/${firewall.resource}`,
    );
    assert.equal(account.properties?.endpoint, `https://${firewall.resource}.openai.azure.com/`);
    assert.equal(account.properties?.customSubDomainName, firewall.resource);
    assert.equal(account.properties?.publicNetworkAccess, 'Enabled');
    assert.equal(account.properties?.networkAcls?.defaultAction, 'Deny');
    assert.deepEqual(
      account.properties?.networkAcls?.ipRules?.map((rule) => rule.value),
      ['198.51.100.0/24', '192.0.2.7'],
    );
  });

  it('reports private endpoint connections and their approval state', async () => {
    fx.emulator.updateWorld((world) => {
      const resource = world.resources.find((r) => r.name === healthy.resource);
      if (resource === undefined) return;
      resource.network.publicNetworkAccess = 'Disabled';
      resource.network.privateEndpointConnections = [
        { name: 'pe-platform', status: 'Approved' },
        { name: 'pe-other', status: 'Pending' },
      ];
    });
    const account = await fx
      .arm(healthy.subscriptionId, { tenantId: healthy.tenantId })
      .accounts.get(healthy.resourceGroup, healthy.resource);
    assert.equal(account.properties?.publicNetworkAccess, 'Disabled');
    assert.deepEqual(
      account.properties?.privateEndpointConnections?.map((c) => [
        c.name,
        c.properties?.privateLinkServiceConnectionState.status,
      ]),
      [
        ['pe-platform', 'Approved'],
        ['pe-other', 'Pending'],
      ],
    );
  });

  it('lists deployments with model, sku and provisioning state', async () => {
    const deployments = [];
    for await (const deployment of fx
      .arm(healthy.subscriptionId, { tenantId: healthy.tenantId })
      .deployments.list(healthy.resourceGroup, healthy.resource)) {
      deployments.push(deployment);
    }
    assert.deepEqual(
      deployments.map((d) => [
        d.name,
        d.properties?.model?.name,
        d.properties?.model?.version,
        d.sku?.capacity,
      ]),
      [
        ['gpt-4o', 'gpt-4o', '2024-08-06', 100],
        ['text-embedding-3-small', 'text-embedding-3-small', '1', 100],
      ],
    );
    assert.ok(deployments.every((d) => d.properties?.provisioningState === 'Succeeded'));
  });

  it('serves US Gov accounts on management.usgovcloudapi.net with a Gov token', async () => {
    const account = await fx
      .arm(usGov.subscriptionId, { cloud: 'usgov', tenantId: usGov.tenantId })
      .accounts.get(usGov.resourceGroup, usGov.resource);
    assert.equal(account.properties?.endpoint, `https://${usGov.resource}.openai.azure.us/`);
  });
});

describe('failures', () => {
  it('403 AuthorizationFailed with only a data-plane role, naming the client, action and scope', async () => {
    const error = await assertRestError(
      fx
        .arm(deploymentMissing.subscriptionId, { tenantId: deploymentMissing.tenantId })
        .accounts.get(deploymentMissing.resourceGroup, deploymentMissing.resource),
      403,
      'AuthorizationFailed',
    );
    assert.match(
      error.message,
      new RegExp(`object id '${deploymentMissing.servicePrincipalObjectId}'`),
    );
    assert.match(error.message, /action 'Microsoft\.CognitiveServices\/accounts\/read'/);
    assert.match(
      error.message,
      new RegExp(`scope '/subscriptions/${deploymentMissing.subscriptionId}/`),
    );
  });

  it('403 AuthorizationFailed on the deployments list without any role', async () => {
    const pages = fx
      .arm(roleMissing.subscriptionId, { tenantId: roleMissing.tenantId })
      .deployments.list(roleMissing.resourceGroup, roleMissing.resource);
    const error = await assertRestError(pages.next(), 403, 'AuthorizationFailed');
    assert.match(error.message, /accounts\/deployments\/read/);
  });

  it('404 ResourceNotFound for an account that does not exist', async () => {
    await assertRestError(
      fx
        .arm(healthy.subscriptionId, { tenantId: healthy.tenantId })
        .accounts.get(healthy.resourceGroup, 'gone'),
      404,
      'ResourceNotFound',
    );
  });

  it('401 InvalidAuthenticationToken for a data-plane token', async () => {
    const dataPlaneOnly = {
      getToken: () =>
        fx
          .secretCredential(healthy.tenantId)
          .getToken('https://cognitiveservices.azure.com/.default'),
    };
    const wrongAudience = fx.arm(healthy.subscriptionId, { credential: dataPlaneOnly });
    const error = await assertRestError(
      wrongAudience.accounts.get(healthy.resourceGroup, healthy.resource),
      401,
      'InvalidAuthenticationToken',
    );
    assert.match(error.message, /wrong audience/);
  });

  it('401 InvalidAuthenticationTokenTenant for a token of another tenant', async () => {
    const error = await assertRestError(
      fx
        .arm(firewall.subscriptionId, { tenantId: healthy.tenantId })
        .accounts.get(firewall.resourceGroup, firewall.resource),
      401,
      'InvalidAuthenticationTokenTenant',
    );
    assert.match(
      error.message,
      new RegExp(`must match the tenant 'https://sts.windows.net/${firewall.tenantId}/'`),
    );
  });

  it('401 AuthenticationFailed without a token and 400 MissingApiVersionParameter without api-version', async () => {
    const path = `https://management.azure.com/subscriptions/${healthy.subscriptionId}/resourceGroups/rg-openai/providers/Microsoft.CognitiveServices/accounts/${healthy.resource}`;
    const anonymous = await fx.transport.fetch(`${path}?api-version=2025-09-01`);
    assert.equal(anonymous.status, 401);
    assert.equal(
      ((await anonymous.json()) as { error: { code: string } }).error.code,
      'AuthenticationFailed',
    );

    const token = await fx
      .secretCredential(healthy.tenantId)
      .getToken('https://management.azure.com/.default');
    const noVersion = await fx.transport.fetch(path, {
      headers: { authorization: `Bearer ${token.token}` },
    });
    assert.equal(noVersion.status, 400);
    assert.deepEqual(await noVersion.json(), {
      error: {
        code: 'MissingApiVersionParameter',
        message: 'The api-version query parameter (?api-version=) is required for all requests.',
      },
    });
  });
});
