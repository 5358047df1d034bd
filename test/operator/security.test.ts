// The security rules of SPEC.md, each proven with the real parts: tokens only to
// allowed hosts, no secret or token anywhere a user can read, and no namespace
// making the operator act with an identity or tenant it was not given.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { integrationResource, servicePrincipalResource } from '../../src/api/group.ts';
import { clouds, EndpointNotAllowedError, parseOpenAIEndpoint } from '../../src/azure/clouds.ts';
import { renderMetrics } from '../../src/metrics/operator-metrics.ts';
import { customers, platform } from '../azure-emulator/sample-world.ts';
import { sharedCluster, testNamespace } from '../support/cluster.ts';
import {
  apply,
  createSecretIdentity,
  getIntegration,
  integration,
  startOperator,
  startSampleEmulator,
  waitFor,
  waitForReason,
} from '../support/operator.ts';

const kc = sharedCluster().kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const { healthy } = customers;
const jwtPattern = /eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/;

// Sequential: some tests count the Entra requests made while they run.
describe('security', async () => {
  const suite = { name: 'security', after };
  const operatorNamespace = await testNamespace(suite, kc);
  const canary = `canary-secret-${randomUUID()}`;
  const wrongCanary = `canary-wrong-${randomUUID()}`;
  const { emulator } = await startSampleEmulator(suite, (world) => {
    world.apps[0]?.secrets?.push({ value: canary, expiresAt: '2099-01-01T00:00:00Z' });
  });
  const identity = `sec-${operatorNamespace}`;
  const wrongIdentity = `sec-wrong-${operatorNamespace}`;
  const fencedIdentity = `sec-fenced-${operatorNamespace}`;
  await createSecretIdentity(suite, kc, operatorNamespace, { name: identity, secret: canary });
  await createSecretIdentity(suite, kc, operatorNamespace, {
    name: wrongIdentity,
    secret: wrongCanary,
  });
  await createSecretIdentity(suite, kc, operatorNamespace, {
    name: fencedIdentity,
    secret: canary,
    allowedNamespaces: { matchLabels: { 'platform.example/customer': 'contoso' } },
    allowedTenants: [healthy.tenantId],
  });
  const operator = await startOperator(suite, { kc, emulator, operatorNamespace });
  const spec = (servicePrincipal: string, extra: object = {}) => ({
    tenantId: healthy.tenantId,
    endpoint: `https://${healthy.resource}.openai.azure.com/`,
    servicePrincipalRef: { name: servicePrincipal },
    deployments: [{ name: 'gpt-4o' }],
    ...extra,
  });

  test('no secret or token in logs, Events, status, ConfigMaps or metrics', async (t) => {
    const namespace = await operator.namespace(t);
    await apply(kc, integration(namespace, 'good', spec(identity)));
    await apply(kc, integration(namespace, 'wrong', spec(wrongIdentity)));
    await waitForReason(kc, namespace, 'good', 'Ready');
    await waitForReason(kc, namespace, 'wrong', 'InvalidClientSecret');
    // Events follow the status write: wait for the failure's own Event before reading every surface.
    await waitFor('the InvalidClientSecret Event', async () =>
      (await core.listNamespacedEvent({ namespace })).items.some(
        (e) => e.reason === 'InvalidClientSecret',
      )
        ? true
        : undefined,
    );
    const issued = emulator.requests({ service: 'entra', outcome: 'ok' });
    assert.ok(issued.length > 0, 'tokens were issued, so there was something to leak');

    const surfaces = {
      logs: operator.logs.join('\n'),
      events: JSON.stringify(await core.listNamespacedEvent({ namespace })),
      status: JSON.stringify([
        (await getIntegration(kc, namespace, 'good')).status,
        (await getIntegration(kc, namespace, 'wrong')).status,
      ]),
      configMaps: JSON.stringify(await core.listNamespacedConfigMap({ namespace })),
      metrics: renderMetrics(operator.manager),
    };
    for (const [surface, text] of Object.entries(surfaces)) {
      assert.ok(text.length > 0, `${surface} has content`);
      assert.ok(!text.includes(canary), `${surface} does not contain the client secret`);
      assert.ok(!text.includes(wrongCanary), `${surface} does not contain the rejected secret`);
      assert.ok(!jwtPattern.test(text), `${surface} does not contain a token`);
    }
    assert.match(surfaces.events, /InvalidClientSecret/, 'the failure itself is reported');
  });

  test('an endpoint outside the cloud allowlist is refused at admission', async (t) => {
    const namespace = await operator.namespace(t);
    for (const endpoint of [
      'https://evil.example.com/',
      'https://contoso.openai.azure.com.evil.example.com/',
      'https://user:pass@contoso.openai.azure.com/',
      'https://contoso.openai.azure.com:8443/',
      'http://contoso.openai.azure.com/',
      'https://127.0.0.1/',
      'https://contoso.openai.azure.com/openai/deployments',
      'https://a.b.openai.azure.com/',
    ]) {
      await assert.rejects(
        apply(kc, integration(namespace, 'evil', spec(identity, { endpoint }))),
        (e: { code?: number; body?: unknown }) =>
          e.code === 422 &&
          (JSON.parse(String(e.body)) as { message: string }).message.includes(
            'endpoint must be https://<resource>.openai.azure.com/',
          ),
        endpoint,
      );
    }
  });

  test('the data-plane client never sends a token to a host outside the allowlist', async () => {
    emulator.clearRequests();
    const evil = {
      url: 'https://evil.example.com/',
      host: 'evil.example.com',
      resourceName: 'evil',
      cloud: clouds.AzurePublicCloud,
    };
    const ctx = {
      tenantId: healthy.tenantId,
      clientId: platform.appId,
      cloud: clouds.AzurePublicCloud,
      egressIps: [],
    };
    await assert.rejects(
      operator.manager.dataPlane.probeDeployment(
        evil,
        'gpt-4o',
        '2024-10-21',
        'a-token',
        'InvalidRequest',
        ctx,
      ),
      (e) => (e as { reason?: string }).reason === 'EndpointNotAllowed',
    );
    // A Gov host is an Azure host, but not of the public cloud the token is for.
    const gov = { ...evil, url: 'https://adatum.openai.azure.us/', host: 'adatum.openai.azure.us' };
    await assert.rejects(
      operator.manager.dataPlane.probeDeployment(
        gov,
        'gpt-4o',
        '2024-10-21',
        'a-token',
        'InvalidRequest',
        ctx,
      ),
      (e) => (e as { reason?: string }).reason === 'EndpointNotAllowed',
    );
    const reached = emulator
      .requests()
      .filter((r) => r.host === 'evil.example.com' || r.host.endsWith('.azure.us'));
    assert.deepEqual(reached, [], 'neither host received anything, let alone a token');
    assert.throws(() => parseOpenAIEndpoint('https://[::1]/'), EndpointNotAllowedError);
  });

  test('tokens went only to Azure hosts of the right cloud', () => {
    const bearerHosts = new Set(
      emulator
        .requests()
        .filter((r) => r.bearerTokenPresent)
        .map((r) => r.host),
    );
    for (const host of bearerHosts) assert.match(host, /^[a-z0-9-]+\.openai\.azure\.com$/);
  });

  test('a namespace the identity does not select gets no token: the confused deputy is refused', async (t) => {
    const namespace = await operator.namespace(t);
    const before = emulator.requests({ service: 'entra' }).length;
    await apply(kc, integration(namespace, 'deputy', spec(fencedIdentity)));
    const refused = await waitForReason(kc, namespace, 'deputy', 'ServicePrincipalNotAllowed');
    assert.match(
      refused.status?.conditions?.[0]?.message ?? '',
      /may not use AzureServicePrincipal/,
    );
    assert.equal(
      emulator.requests({ service: 'entra' }).length,
      before,
      'no token was requested on its behalf',
    );

    // Labelled as the identity's owner allows, the same namespace may use it, for the allowed tenant only.
    await core
      .patchNamespace(
        {
          name: namespace,
          body: { metadata: { labels: { 'platform.example/customer': 'contoso' } } },
        },
        { headers: { 'Content-Type': 'application/merge-patch+json' } } as never,
      )
      .catch(async () => {
        const ns = await core.readNamespace({ name: namespace });
        ns.metadata = {
          ...ns.metadata,
          labels: { ...ns.metadata?.labels, 'platform.example/customer': 'contoso' },
        };
        await core.replaceNamespace({ name: namespace, body: ns });
      });
    await waitForReason(kc, namespace, 'deputy', 'Ready');
    await apply(
      kc,
      integration(
        namespace,
        'other-tenant',
        spec(fencedIdentity, { tenantId: customers.roleMissing.tenantId }),
      ),
    );
    await waitForReason(kc, namespace, 'other-tenant', 'TenantNotAllowed');
  });

  test('an identity cannot point at a Secret in another namespace', async () => {
    const name = `sec-elsewhere-${operatorNamespace}`;
    const body = {
      apiVersion: `${servicePrincipalResource.group}/${servicePrincipalResource.version}`,
      kind: servicePrincipalResource.kind,
      metadata: { name },
      spec: {
        clientId: platform.appId,
        credential: { clientSecret: { secretRef: { name: 'stolen', namespace: 'kube-system' } } },
        allowedNamespaces: {},
      },
    };
    // Server-side apply (kubectl apply --server-side, GitOps) refuses the field outright...
    await assert.rejects(apply(kc, body as never), (e: { body?: unknown }) =>
      String(e.body).includes('field not declared in schema'),
    );
    // ...and a plain create has it pruned: there is no way to name another namespace.
    await custom.createClusterCustomObject({ ...servicePrincipalResource, body });
    const stored = (await custom.getClusterCustomObject({ ...servicePrincipalResource, name })) as {
      spec: { credential: { clientSecret: { secretRef: Record<string, string> } } };
    };
    assert.deepEqual(stored.spec.credential.clientSecret.secretRef, {
      name: 'stolen',
      key: 'clientSecret',
    });
    await custom.deleteClusterCustomObject({ ...servicePrincipalResource, name });
  });

  test('operator Events are attached to the integration', async (t) => {
    const namespace = await operator.namespace(t);
    await apply(kc, integration(namespace, 'good', spec(identity)));
    const ready = await waitForReason(kc, namespace, 'good', 'Ready');
    // Events are recorded right after the status write that shows Ready.
    const ownEvents = async () =>
      (await core.listNamespacedEvent({ namespace })).items.filter(
        (e) => e.involvedObject.uid === ready.metadata.uid,
      );
    await waitFor('both Events', async () => ((await ownEvents()).length >= 2 ? true : undefined));
    await sleep(300);
    const mine = await ownEvents();
    assert.deepEqual(
      mine.map((e) => e.reason).sort(),
      ['Published', 'Ready'],
      'exactly these, once each',
    );
    assert.equal(mine[0]?.involvedObject.kind, integrationResource.kind);
  });
});
