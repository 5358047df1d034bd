// The whole binary, as `npm start` runs it: configuration from the environment, a
// ServiceAccount kubeconfig with deploy/'s RBAC, probes and metrics over HTTP, an
// integration reconciled, and a clean exit on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { customers, platform } from '../azure-emulator/sample-world.ts';
import { moduleDir } from '../controlplane/binaries.ts';
import { sharedCluster, testNamespace } from '../support/cluster.ts';
import {
  apply,
  createSecretIdentity,
  integration,
  startSampleEmulator,
  waitForReason,
} from '../support/operator.ts';
import { installOperatorIdentity } from '../support/operator-identity.ts';

const admin = sharedCluster().kubeConfig();

test('the operator binary serves probes and metrics, reconciles, and stops on SIGTERM', async (t) => {
  const operatorNamespace = await testNamespace(t, admin);
  const identity = await installOperatorIdentity(admin, operatorNamespace, operatorNamespace);
  const { emulator } = await startSampleEmulator(t);
  await createSecretIdentity(t, admin, operatorNamespace, { name: `e2e-${operatorNamespace}` });
  const dir = mkdtempSync(join(tmpdir(), 'operator-e2e-'));
  writeFileSync(join(dir, 'kubeconfig'), identity.kubeConfig.exportConfig());
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let output = '';
  const child = spawn(process.execPath, [join(moduleDir, '..', '..', 'src', 'main.ts')], {
    env: {
      PATH: process.env.PATH,
      KUBECONFIG: join(dir, 'kubeconfig'),
      OPERATOR_NAMESPACE: operatorNamespace,
      AZURE_CONNECT_TO: emulator.connectTo,
      AZURE_EXTRA_CA_FILE: emulator.caPath,
      PLATFORM_EGRESS_IPS: platform.egressIp,
      METRICS_ADDRESS: `127.0.0.1:${port}`,
      WATCH_NAMESPACE_SELECTOR: `e2e=${operatorNamespace}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.after(() => child.kill('SIGKILL'));

  const get = (path: string) =>
    fetch(`http://127.0.0.1:${port}${path}`).then(async (r) => ({
      status: r.status,
      body: await r.text(),
    }));
  let ready = { status: 0, body: '' };
  for (let i = 0; i < 100 && ready.status !== 200; i++) {
    await sleep(100);
    ready = await get('/readyz').catch(() => ready);
  }
  assert.equal(ready.status, 200, `ready; output: ${output}`);
  assert.equal((await get('/healthz')).status, 200);

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
  const metrics = (await get('/metrics')).body;
  assert.match(metrics, /^aoai_operator_token_requests_total 1$/m);
  assert.match(metrics, /^aoai_operator_status_writes_total [1-9]/m);

  child.kill('SIGTERM');
  assert.equal(await exited, 0, 'a clean exit on SIGTERM');
  assert.match(output, /"msg":"Stopping"/);
  assert.ok(!output.includes(platform.clientSecret), 'the secret is not in the output');
});
