// The ConfigMap contract and the integration's life: what is published, when it
// is withdrawn, what survives weather, and what deletion and suspend do.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, type V1ConfigMap } from '@kubernetes/client-node';
import { annotations, finalizer, integrationResource } from '../../src/api/group.ts';
import { documentKey, hashData, publishedDocumentSchema } from '../../src/publish/configmap.ts';
import { customers, platform } from '../azure-emulator/sample-world.ts';
import { binaryPath } from '../controlplane/binaries.ts';
import { sharedCluster, testNamespace } from '../support/cluster.ts';
import {
  apply,
  condition,
  copyHealthyResource,
  createSecretIdentity,
  getIntegration,
  integration,
  readConfigMap as readOperatorConfigMap,
  startOperator,
  startSampleEmulator,
  waitFor,
  waitForReason,
} from '../support/operator.ts';

const kc = sharedCluster().kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const { healthy } = customers;
const run = promisify(execFile);

const readConfigMap = (namespace: string, name: string) =>
  readOperatorConfigMap(kc, namespace, name);

const publishedDeployments = (cm: V1ConfigMap | undefined) =>
  cm?.data?.AZURE_OPENAI_DEPLOYMENTS?.split(',');

describe('publication', { concurrency: true }, async () => {
  const suite = { name: 'publication', after };
  const operatorNamespace = await testNamespace(suite, kc);
  const { emulator } = await startSampleEmulator(suite);
  const identity = `pub-${operatorNamespace}`;
  await createSecretIdentity(suite, kc, operatorNamespace, { name: identity });
  const operator = await startOperator(suite, {
    kc,
    emulator,
    operatorNamespace,
    env: { TRANSIENT_RETRY_BASE: '200ms' },
  });

  // Each test gets its own copy of the healthy customer's resource, so changing its
  // world (revoking a role, deleting a deployment) touches no other test.
  let copies = 0;
  const healthyCopy = (roles = true) => {
    const name = `copy${++copies}-openai`;
    return copyHealthyResource(emulator, name, roles ? {} : { roleAssignments: [] });
  };
  const specFor = (
    resource: string,
    deployments = ['gpt-4o', 'text-embedding-3-small'],
    interval = '2s',
  ) => ({
    tenantId: healthy.tenantId,
    endpoint: `https://${resource}.openai.azure.com/`,
    servicePrincipalRef: { name: identity },
    deployments: deployments.map((name) => ({ name })),
    probe: { interval },
  });

  test('publishes only proven deployments, with a content hash, an owner and no secret', async (t) => {
    const namespace = await operator.namespace(t);
    const resource = healthyCopy();
    await apply(
      kc,
      integration(namespace, 'contoso', {
        ...specFor(resource, ['gpt-4o', 'missing', 'text-embedding-3-small']),
        defaultDeployment: 'text-embedding-3-small',
      }),
    );
    const reported = await waitForReason(kc, namespace, 'contoso', 'DeploymentNotFound');
    assert.equal(reported.status?.deploymentsReady, '2/3');
    assert.equal(condition(reported, 'Published')?.status, 'True');

    const cm = await readConfigMap(namespace, 'contoso-azure-openai');
    assert.ok(cm?.data);
    assert.deepEqual(publishedDeployments(cm), ['gpt-4o', 'text-embedding-3-small']);
    const document = publishedDocumentSchema.parse(JSON.parse(cm.data[documentKey] ?? ''));
    assert.deepEqual(
      document.deployments.map((d) => [d.name, d.capability]),
      [
        ['gpt-4o', 'chat'],
        ['text-embedding-3-small', 'embeddings'],
      ],
    );
    assert.equal(document.defaultDeployment, 'text-embedding-3-small');
    assert.equal(cm.data.AZURE_OPENAI_ENDPOINT, `https://${resource}.openai.azure.com/`);
    assert.equal(cm.data.AZURE_TENANT_ID, healthy.tenantId);
    assert.equal(cm.data.AZURE_CLIENT_ID, platform.appId);
    assert.equal(cm.data.AZURE_AUTHORITY_HOST, 'https://login.microsoftonline.com');
    assert.equal(cm.data.AZURE_OPENAI_SCOPE, 'https://cognitiveservices.azure.com/.default');
    assert.equal(cm.data.OPENAI_API_VERSION, '2024-10-21');
    assert.equal(cm.metadata?.annotations?.[annotations.contentHash], hashData(cm.data));
    assert.equal(reported.status?.publication?.contentHash, hashData(cm.data));
    const owner = cm.metadata?.ownerReferences?.[0];
    assert.equal(owner?.uid, reported.metadata.uid);
    assert.equal(owner?.controller, true);
    const everything = JSON.stringify(cm);
    assert.ok(!everything.includes(platform.clientSecret), 'no client secret');
    assert.ok(!/eyJ[\w-]+\.[\w-]+\./.test(everything), 'no token');
  });

  test('a validation costs one call per deployment, and an endpoint that refuses the network only one', async (t) => {
    const namespace = await operator.namespace(t);
    const resource = healthyCopy();
    await apply(kc, integration(namespace, 'economy', specFor(resource, ['gpt-4o', 'missing'])));
    await waitForReason(kc, namespace, 'economy', 'DeploymentNotFound');
    const calls = emulator
      .requests({ service: 'openai', resource })
      .map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(calls.sort(), [
      'POST /openai/deployments/gpt-4o/chat/completions',
      'POST /openai/deployments/missing/chat/completions',
    ]);

    const { firewall } = customers;
    await apply(
      kc,
      integration(namespace, 'walled', {
        ...specFor(firewall.resource, ['gpt-4o', 'text-embedding-3-small', 'other']),
        tenantId: firewall.tenantId,
      }),
    );
    await waitForReason(kc, namespace, 'walled', 'FirewallDenied', 30_000, 'False');
    assert.equal(
      emulator.requests({ service: 'openai', resource: firewall.resource }).length,
      1,
      'the first deployment met the firewall; the others were not called',
    );
  });

  test('a healthy sample is Ready for kubectl wait', async (t) => {
    const namespace = await operator.namespace(t);
    await apply(kc, integration(namespace, 'contoso', specFor(healthyCopy())));
    // Asynchronously: the operator runs in this process and must keep working meanwhile.
    const { stdout: output } = await run(binaryPath('kubectl'), [
      '--kubeconfig',
      sharedCluster().kubeconfigPath,
      'wait',
      '--for=condition=Ready',
      '--timeout=20s',
      '-n',
      namespace,
      'azureopenaiintegration/contoso',
    ]);
    assert.match(output, /condition met/);
  });

  test('a revoked role withdraws the publication within one interval', async (t) => {
    const namespace = await operator.namespace(t);
    const resource = healthyCopy();
    await apply(kc, integration(namespace, 'contoso', specFor(resource)));
    await waitForReason(kc, namespace, 'contoso', 'Ready');
    assert.ok(await readConfigMap(namespace, 'contoso-azure-openai'));
    const revokedAt = Date.now();
    emulator.revokeRole(
      resource,
      healthy.servicePrincipalObjectId,
      'Cognitive Services OpenAI User',
    );
    await waitForReason(kc, namespace, 'contoso', 'RoleMissing', 10_000);
    await waitFor('the ConfigMap to be withdrawn', async () =>
      (await readConfigMap(namespace, 'contoso-azure-openai')) ? undefined : true,
    );
    assert.ok(
      Date.now() - revokedAt < 2_000 * 1.1 + 3_000,
      'within one interval (2s, jittered) plus the reconcile',
    );
  });

  test('a deleted deployment is withdrawn from the ConfigMap, the others stay', async (t) => {
    const namespace = await operator.namespace(t);
    const resource = healthyCopy();
    await apply(kc, integration(namespace, 'contoso', specFor(resource)));
    await waitForReason(kc, namespace, 'contoso', 'Ready');
    emulator.deleteDeployment(resource, 'text-embedding-3-small');
    await waitForReason(kc, namespace, 'contoso', 'DeploymentNotFound', 10_000);
    const cm = await waitFor('the ConfigMap to drop the deployment', async () => {
      const current = await readConfigMap(namespace, 'contoso-azure-openai');
      return publishedDeployments(current)?.length === 1 ? current : undefined;
    });
    assert.deepEqual(publishedDeployments(cm), ['gpt-4o']);
  });

  test('withdrawn consent withdraws the publication within one interval', async (t) => {
    const namespace = await operator.namespace(t);
    // A tenant of its own: consent is per tenant, and other tests use the healthy one.
    const tenantId = '7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    const objectId = '8e2d3c4b-5f6a-4b7c-9d8e-0f1a2b3c4d5e';
    emulator.updateWorld((world) => {
      world.tenants.push({
        id: tenantId,
        displayName: 'Consent withdrawn later',
        conditionalAccessBlockedApps: [],
      });
      world.apps[0]?.consents.push({ tenantId, servicePrincipalObjectId: objectId });
      const original = world.resources.find((r) => r.name === healthy.resource);
      assert.ok(original);
      world.resources.push({
        ...structuredClone(original),
        name: 'withdrawn-openai',
        tenantId,
        roleAssignments: [{ principalId: objectId, roleName: 'Cognitive Services OpenAI User' }],
      });
    });
    await apply(
      kc,
      integration(namespace, 'contoso', { ...specFor('withdrawn-openai'), tenantId }),
    );
    await waitForReason(kc, namespace, 'contoso', 'Ready');
    emulator.withdrawConsent(platform.appId, tenantId);
    await waitForReason(kc, namespace, 'contoso', 'ConsentMissing', 10_000);
    await waitFor('the ConfigMap to be withdrawn', async () =>
      (await readConfigMap(namespace, 'contoso-azure-openai')) ? undefined : true,
    );
  });

  test('transient 5xx keeps Ready and the publication, then recovers', async (t) => {
    const namespace = await operator.namespace(t);
    const resource = healthyCopy();
    await apply(kc, integration(namespace, 'contoso', specFor(resource)));
    await waitForReason(kc, namespace, 'contoso', 'Ready');
    const before = await readConfigMap(namespace, 'contoso-azure-openai');
    // Two failures in a row: under the threshold of three.
    emulator.updateWorld((world) => {
      world.faults.push({
        match: { service: 'openai', resource },
        kind: 'status',
        status: 503,
        remaining: 2,
      });
    });
    const damped = await waitFor('the transient failure to be seen', async () => {
      const current = await getIntegration(kc, namespace, 'contoso');
      return condition(current, 'Reconciling')?.status === 'True' ? current : undefined;
    });
    assert.equal(
      condition(damped, 'Ready')?.status,
      'True',
      'Ready does not flip on the first miss',
    );
    assert.equal(condition(damped, 'Reconciling')?.reason, 'ServiceUnavailable');
    const during = await readConfigMap(namespace, 'contoso-azure-openai');
    assert.equal(
      during?.metadata?.resourceVersion,
      before?.metadata?.resourceVersion,
      'the publication is untouched',
    );
    await waitFor('recovery', async () => {
      const current = await getIntegration(kc, namespace, 'contoso');
      return condition(current, 'Reconciling') === undefined &&
        condition(current, 'Ready')?.status === 'True'
        ? true
        : undefined;
    });
  });

  test('deletion withdraws the ConfigMap and releases the finalizer', async (t) => {
    const namespace = await operator.namespace(t);
    await apply(kc, integration(namespace, 'contoso', specFor(healthyCopy())));
    const ready = await waitForReason(kc, namespace, 'contoso', 'Ready');
    assert.ok(ready.metadata.finalizers?.includes(finalizer));
    await custom.deleteNamespacedCustomObject({
      ...integrationResource,
      namespace,
      name: 'contoso',
    });
    await waitFor('the integration to be gone', async () =>
      custom.getNamespacedCustomObject({ ...integrationResource, namespace, name: 'contoso' }).then(
        () => undefined,
        () => true,
      ),
    );
    assert.equal(await readConfigMap(namespace, 'contoso-azure-openai'), undefined);
  });

  test('a ConfigMap edited by hand is restored', async (t) => {
    const namespace = await operator.namespace(t);
    await apply(kc, integration(namespace, 'contoso', specFor(healthyCopy(), ['gpt-4o'], '1h')));
    await waitForReason(kc, namespace, 'contoso', 'Ready');
    const cm = await readConfigMap(namespace, 'contoso-azure-openai');
    assert.ok(cm?.data);
    const original = { ...cm.data };
    cm.data.AZURE_OPENAI_ENDPOINT = 'https://evil.example.com/';
    await core.replaceNamespacedConfigMap({ namespace, name: 'contoso-azure-openai', body: cm });
    await waitFor('the ConfigMap to be restored', async () => {
      const current = await readConfigMap(namespace, 'contoso-azure-openai');
      return current?.data?.AZURE_OPENAI_ENDPOINT === original.AZURE_OPENAI_ENDPOINT
        ? true
        : undefined;
    });
  });

  test('suspend stops validation and leaves the publication as it is', async (t) => {
    const namespace = await operator.namespace(t);
    const resource = healthyCopy();
    const spec = specFor(resource, ['gpt-4o'], '1s');
    await apply(kc, integration(namespace, 'contoso', spec));
    await waitForReason(kc, namespace, 'contoso', 'Ready');
    await apply(kc, integration(namespace, 'contoso', { ...spec, suspend: true }));
    await sleep(500);
    const probesBefore = emulator.requests({ host: `${resource}.openai.azure.com` }).length;
    emulator.revokeRole(
      resource,
      healthy.servicePrincipalObjectId,
      'Cognitive Services OpenAI User',
    );
    await sleep(2_500);
    assert.equal(
      emulator.requests({ host: `${resource}.openai.azure.com` }).length,
      probesBefore,
      'no probe while suspended',
    );
    assert.ok(await readConfigMap(namespace, 'contoso-azure-openai'), 'the publication stays');
    await apply(kc, integration(namespace, 'contoso', { ...spec, suspend: false }));
    await waitForReason(kc, namespace, 'contoso', 'RoleMissing');
  });
});
