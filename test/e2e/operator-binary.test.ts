// The whole binary, as `npm start` runs it: configuration from the environment, a
// ServiceAccount kubeconfig with deploy/'s RBAC, probes and metrics over HTTP, an
// integration reconciled, and a clean exit on SIGTERM; with the image's Node flags and
// allocator.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { customers, platform } from '../azure-emulator/sample-world.ts';
import { sharedCluster, testNamespace } from '../support/cluster.ts';
import {
  apply,
  createSecretIdentity,
  integration,
  startSampleEmulator,
  waitFor,
  waitForReason,
} from '../support/operator.ts';
import { installOperatorIdentity } from '../support/operator-identity.ts';
import { spawnOperator } from '../support/operator-process.ts';

const admin = sharedCluster().kubeConfig();

test('the operator binary serves probes and metrics, reconciles, and stops on SIGTERM', async (t) => {
  const operatorNamespace = await testNamespace(t, admin);
  const identity = await installOperatorIdentity(admin, operatorNamespace, operatorNamespace);
  const { emulator } = await startSampleEmulator(t);
  await createSecretIdentity(t, admin, operatorNamespace, { name: `e2e-${operatorNamespace}` });
  const operator = await spawnOperator({
    kubeConfig: identity.kubeConfig,
    operatorNamespace,
    emulator,
    env: { WATCH_NAMESPACE_SELECTOR: `e2e=${operatorNamespace}` },
    // The bundle the image ships, not the TypeScript sources.
    entry: 'dist',
  });
  t.after(() => operator.child.kill('SIGKILL'));
  await operator.waitReady();
  assert.equal((await operator.get('/healthz')).status, 200);
  // It runs on the image's allocator, as the figures in docs/BENCHMARKS.md do.
  const mapped = readFileSync(`/proc/${operator.child.pid}/maps`, 'utf8');
  assert.match(mapped, /\/libjemalloc\.so\.2$/m, 'jemalloc is loaded, as the image preloads it');

  const namespace = await testNamespace(t, admin, { e2e: operatorNamespace });
  const { healthy } = customers;
  await apply(
    admin,
    integration(namespace, 'contoso', {
      tenantId: healthy.tenantId,
      endpoint: `https://${healthy.resource}.openai.azure.com/`,
      servicePrincipalRef: { name: `e2e-${operatorNamespace}` },
      deployments: [{ name: 'gpt-4o' }],
    }),
  );
  await waitForReason(admin, namespace, 'contoso', 'Ready');
  // The status lands before the reconcile ends (its Events come after), so wait for
  // the reconcile to be counted before reading the rest.
  const metrics = await waitFor(
    'the reconcile to end',
    async () => {
      const { body } = await operator.get('/metrics');
      return /^aoai_operator_reconciles_in_flight 0$/m.test(body) ? body : undefined;
    },
    10_000,
  );
  assert.match(metrics, /^aoai_operator_token_requests_total 1$/m);
  assert.match(metrics, /^aoai_operator_status_writes_total [1-9]/m);
  assert.match(metrics, /^aoai_operator_leader 1$/m);
  assert.match(metrics, /^aoai_operator_reconciles_total\{result="success"\} [1-9]/m);
  assert.match(metrics, /^aoai_operator_reconcile_duration_seconds_count [1-9]/m);
  assert.match(
    metrics,
    /^aoai_operator_integrations\{condition="Ready",status="True",reason="Ready"\} 1$/m,
  );
  // One sign-in and one call per deployment: the InvalidRequest probe, answered 400.
  assert.match(metrics, /^aoai_operator_azure_requests_total\{service="entra",outcome="ok"\} 1$/m);
  assert.doesNotMatch(
    metrics,
    /^aoai_operator_azure_requests_total\{service="openai",outcome="ok"\}/m,
  );
  assert.match(
    metrics,
    /^aoai_operator_azure_requests_total\{service="openai",outcome="client_error"\} 1$/m,
  );

  assert.equal(await operator.stop(), 0, 'a clean exit on SIGTERM');
  assert.match(operator.output(), /"msg":"Released the leader lease"/);
  assert.ok(!operator.output().includes(platform.clientSecret), 'the secret is not in the output');
});
