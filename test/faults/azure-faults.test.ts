// Azure's bad days, through the real operator and the emulator: an endpoint that
// hangs, bursts of 429 and 5xx, slow answers. Each test asserts that nothing is
// lost: the last good ConfigMap stays, every spec edit lands, and every
// integration ends in its right state.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { chatDeployment, customers } from '../azure-emulator/sample-world.ts';
import { sharedCluster, testNamespace } from '../support/cluster.ts';
import {
  apply,
  condition,
  copyHealthyResource,
  copyHealthyTenant,
  createSecretIdentity,
  getIntegration,
  integration,
  readConfigMap as readOperatorConfigMap,
  startOperator,
  startSampleEmulator,
  waitFor,
} from '../support/operator.ts';

const kc = sharedCluster().kubeConfig();
const { healthy } = customers;

const readConfigMap = (namespace: string, name: string) =>
  readOperatorConfigMap(kc, namespace, name);

const published = (cm: V1ConfigMap | undefined) => cm?.data?.AZURE_OPENAI_DEPLOYMENTS;

describe('Azure faults', { concurrency: true }, async () => {
  const suite = { name: 'azure-faults', after };
  const operatorNamespace = await testNamespace(suite, kc);
  const { emulator } = await startSampleEmulator(suite);
  const identity = `faults-${operatorNamespace}`;
  await createSecretIdentity(suite, kc, operatorNamespace, { name: identity });
  const operator = await startOperator(suite, {
    kc,
    emulator,
    operatorNamespace,
    env: {
      CONCURRENCY: '4',
      AZURE_REQUEST_TIMEOUT: '1s',
      TRANSIENT_RETRY_BASE: '200ms',
      TENANT_CIRCUIT_OPEN: '2s',
      TENANT_CIRCUIT_MAX_OPEN: '4s',
    },
  });

  // Each test has resources of its own in the healthy customer's tenant, so its faults touch no other test.
  const copyOfHealthy = (name: string) => copyHealthyResource(emulator, name);
  // Tests run side by side: each adds and removes only the faults of its own resources or tenant.
  type Fault = Parameters<typeof emulator.setFaults>[0][number];
  const addFaults = (...faults: Fault[]) =>
    emulator.updateWorld((world) => {
      world.faults.push(...(faults as typeof world.faults));
    });
  const clearFaults = (owner: { resource: string } | { tenantId: string }) =>
    emulator.updateWorld((world) => {
      const kept = world.faults.filter((f) =>
        'resource' in owner
          ? f.match.resource !== owner.resource
          : f.match.tenantId !== owner.tenantId,
      );
      world.faults.splice(0, world.faults.length, ...kept);
    });
  const specFor = (resource: string, deployments = ['gpt-4o', 'text-embedding-3-small']) => ({
    tenantId: healthy.tenantId,
    endpoint: `https://${resource}.openai.azure.com/`,
    servicePrincipalRef: { name: identity },
    deployments: deployments.map((name) => ({ name })),
    probe: { interval: '2s' },
  });
  const readyAt = (namespace: string, name: string, generation: number) =>
    waitFor(
      `${name} to be Ready at generation ${generation}`,
      async () => {
        const current = await getIntegration(kc, namespace, name);
        const ready = condition(current, 'Ready');
        return ready?.status === 'True' && ready.observedGeneration === generation
          ? current
          : undefined;
      },
      30_000,
    );

  test('an edit during a slow re-validation does not wait for it: the re-validation is superseded', async (t) => {
    const namespace = await operator.namespace(t);
    const busy = copyOfHealthy('revalidating-openai');
    emulator.updateWorld((world) => {
      world.resources
        .find((r) => r.name === busy)
        ?.deployments.push(chatDeployment({ name: 'gpt-4o-mini' }));
    });
    const deployments = ['gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small'];
    await apply(kc, integration(namespace, 'edited', specFor(busy, deployments)));
    await readyAt(namespace, 'edited', 1);
    // Each probe takes 900 ms (the suite's timeout is 1 s): a re-validation of three
    // deployments, one call at a time on the host's connection, about 2.7 s.
    addFaults({ match: { service: 'openai', resource: busy }, kind: 'latency', ms: 900 });
    t.after(() => clearFaults({ resource: busy }));
    const superseded = () =>
      operator.manager.metrics.reconciles.samples().find((s) => s.labels.result === 'superseded')
        ?.value ?? 0;
    const supersededBefore = superseded();
    const calls = () => emulator.requests({ service: 'openai', resource: busy }).length;
    const before = calls();
    await waitFor('a re-validation to start probing', async () =>
      calls() > before ? true : undefined,
    );

    const edited = Date.now();
    await apply(kc, integration(namespace, 'edited', specFor(busy, ['gpt-4o', 'gpt-4o-mini'])));
    await readyAt(namespace, 'edited', 2);
    const reactionMs = Date.now() - edited;

    assert.equal(superseded(), supersededBefore + 1, 'the re-validation in flight was superseded');
    // Its own two probes take 1.8 s; behind the re-validation it would take 4 s or more.
    assert.ok(reactionMs < 3_400, `the edit took ${reactionMs} ms`);
    assert.equal(
      published(await readConfigMap(namespace, 'edited-azure-openai')),
      'gpt-4o,gpt-4o-mini',
    );
  });

  test('an endpoint that hangs is paused; the rest carry on, and it recovers with its ConfigMaps kept', async (t) => {
    const namespace = await operator.namespace(t);
    const stalled = copyOfHealthy('stalled-openai');
    const steady = copyOfHealthy('steady-openai');
    const stalledNames = [
      'stalled-1',
      'stalled-2',
      'stalled-3',
      'stalled-4',
      'stalled-5',
      'stalled-6',
    ];
    for (const name of stalledNames)
      await apply(kc, integration(namespace, name, specFor(stalled)));
    await apply(kc, integration(namespace, 'steady', specFor(steady)));
    for (const name of [...stalledNames, 'steady']) await readyAt(namespace, name, 1);
    const before = await Promise.all(
      stalledNames.map((name) => readConfigMap(namespace, `${name}-azure-openai`)),
    );

    addFaults({ match: { service: 'openai', resource: stalled }, kind: 'hang' });
    t.after(() => clearFaults({ resource: stalled }));
    await waitFor('the circuit of the stalled endpoint to open', async () => {
      const current = await getIntegration(kc, namespace, 'stalled-1');
      const message = condition(current, 'EndpointReachable')?.message ?? '';
      return message.includes(`calls to ${stalled}.openai.azure.com are paused`) ? true : undefined;
    });

    // While it is open, the stalled endpoint gets trials only, not one call per integration and retry.
    const callsBefore = emulator.requests({ service: 'openai', resource: stalled }).length;
    const edited = Date.now();
    await apply(kc, integration(namespace, 'steady', specFor(steady, ['gpt-4o'])));
    await readyAt(namespace, 'steady', 2);
    const reactionMs = Date.now() - edited;
    await sleep(Math.max(0, 5_000 - reactionMs));
    const calls = emulator.requests({ service: 'openai', resource: stalled }).length - callsBefore;
    assert.ok(
      calls <= 3,
      `${calls} calls reached the stalled endpoint in 5 s; trials only expected`,
    );
    assert.ok(
      reactionMs < 3_000,
      `an edit elsewhere took ${reactionMs} ms while one endpoint hung`,
    );
    assert.equal(published(await readConfigMap(namespace, 'steady-azure-openai')), 'gpt-4o');

    const during = await Promise.all(
      stalledNames.map((name) => readConfigMap(namespace, `${name}-azure-openai`)),
    );
    assert.deepEqual(
      during.map((cm) => cm?.metadata?.resourceVersion),
      before.map((cm) => cm?.metadata?.resourceVersion),
      'weather keeps the last good ConfigMaps untouched',
    );

    clearFaults({ resource: stalled });
    for (const name of stalledNames) await readyAt(namespace, name, 1);
    const recovered = await getIntegration(kc, namespace, 'stalled-1');
    assert.equal(condition(recovered, 'EndpointReachable')?.reason, 'EndpointReachable');
  });

  test('a tenant whose Entra ID hangs is paused; other tenants sign in and carry on, and it recovers', async (t) => {
    const namespace = await operator.namespace(t);
    // A tenant of its own: no token of it is cached, so every reconcile must sign in.
    const stuck = copyHealthyTenant(emulator, 'signin-stuck-openai');
    addFaults({ match: { service: 'entra', tenantId: stuck.tenantId }, kind: 'hang' });
    t.after(() => clearFaults({ tenantId: stuck.tenantId }));
    const stuckNames = ['signin-stuck-1', 'signin-stuck-2', 'signin-stuck-3', 'signin-stuck-4'];
    for (const name of stuckNames)
      await apply(
        kc,
        integration(namespace, name, { ...specFor(stuck.resource), tenantId: stuck.tenantId }),
      );

    const elsewhere = copyOfHealthy('signin-elsewhere-openai');
    const applied = Date.now();
    await apply(kc, integration(namespace, 'signin-elsewhere', specFor(elsewhere)));
    await readyAt(namespace, 'signin-elsewhere', 1);
    const readyMs = Date.now() - applied;
    assert.ok(readyMs < 10_000, `another tenant took ${readyMs} ms to turn Ready while one hung`);

    await waitFor(
      "the stuck tenant's sign-in circuit to open",
      async () => {
        const current = await getIntegration(kc, namespace, 'signin-stuck-1');
        const message = condition(current, 'TokenIssued')?.message ?? '';
        return message.includes(`calls to Entra ID of tenant ${stuck.tenantId} are paused`)
          ? true
          : undefined;
      },
      30_000,
    );
    // Open, it lets trials through, one at a time, shared by the four integrations.
    const signInsBefore = emulator.requests({ service: 'entra', tenantId: stuck.tenantId }).length;
    await sleep(5_000);
    const signIns =
      emulator.requests({ service: 'entra', tenantId: stuck.tenantId }).length - signInsBefore;
    assert.ok(
      signIns <= 4,
      `${signIns} requests reached the hung Entra ID in 5 s; trials only expected`,
    );
    for (const name of stuckNames) {
      const current = await getIntegration(kc, namespace, name);
      assert.equal(condition(current, 'Ready')?.status, 'False', `${name} is not Ready`);
      assert.equal(
        await readConfigMap(namespace, `${name}-azure-openai`),
        undefined,
        'nothing unproven is published',
      );
    }

    clearFaults({ tenantId: stuck.tenantId });
    for (const name of stuckNames) await readyAt(namespace, name, 1);
    assert.equal(
      published(await readConfigMap(namespace, 'signin-stuck-1-azure-openai')),
      'gpt-4o,text-embedding-3-small',
    );
  });

  test('429 and 5xx bursts: Retry-After is honoured and every edit made during the burst lands', async (t) => {
    const namespace = await operator.namespace(t);
    const throttled = copyOfHealthy('throttled-openai');
    const bursty = copyOfHealthy('bursty-openai');
    const names = ['bursty-1', 'bursty-2', 'bursty-3'];
    await apply(kc, integration(namespace, 'throttled', specFor(throttled)));
    for (const name of names) await apply(kc, integration(namespace, name, specFor(bursty)));
    for (const name of ['throttled', ...names]) await readyAt(namespace, name, 1);

    addFaults(
      {
        match: { service: 'openai', resource: throttled },
        kind: 'status',
        status: 429,
        retryAfterSeconds: 3,
        remaining: 1,
      },
      { match: { service: 'openai', resource: bursty }, kind: 'status', status: 429, remaining: 3 },
      { match: { service: 'openai', resource: bursty }, kind: 'status', status: 503, remaining: 4 },
    );
    // Edits made while Azure misbehaves: each must be reflected in the end.
    await apply(kc, integration(namespace, 'throttled', specFor(throttled, ['gpt-4o'])));
    for (const name of names)
      await apply(kc, integration(namespace, name, specFor(bursty, ['gpt-4o'])));

    // No ConfigMap disappears or holds anything but a proven set, at any moment of the burst.
    const seen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const name of ['throttled', ...names]) {
          const value = published(await readConfigMap(namespace, `${name}-azure-openai`));
          seen.add(String(value));
        }
        await sleep(100);
      }
    })();
    for (const name of ['throttled', ...names]) await readyAt(namespace, name, 2);
    watching = false;
    await watcher;
    assert.deepEqual([...seen].sort(), ['gpt-4o', 'gpt-4o,text-embedding-3-small']);
    for (const name of ['throttled', ...names])
      assert.equal(published(await readConfigMap(namespace, `${name}-azure-openai`)), 'gpt-4o');

    const log = emulator.requests({ service: 'openai', resource: throttled });
    const refused = log.findIndex((r) => r.status === 429);
    assert.ok(refused >= 0, 'the 429 was served');
    const next = log[refused + 1];
    assert.ok(next, 'the operator came back after the 429');
    const waitedMs = Date.parse(next.time) - Date.parse(log[refused]?.time ?? '');
    assert.ok(waitedMs >= 2_900, `the retry came ${waitedMs} ms after Retry-After: 3`);
  });

  test('slow answers within the timeout are only slow', async (t) => {
    const namespace = await operator.namespace(t);
    const slow = copyOfHealthy('slow-openai');
    addFaults({ match: { service: 'openai', resource: slow }, kind: 'latency', ms: 600 });
    await apply(kc, integration(namespace, 'slow', specFor(slow)));
    const ready = await readyAt(namespace, 'slow', 1);
    assert.equal(ready.status?.failureCount ?? 0, 0, 'latency is not a failure');
    await apply(kc, integration(namespace, 'slow', specFor(slow, ['gpt-4o'])));
    await readyAt(namespace, 'slow', 2);
    assert.equal(published(await readConfigMap(namespace, 'slow-azure-openai')), 'gpt-4o');
  });
});
