// Each credential kind signs in for real: workload identity federation with a
// ServiceAccount token of the real API server, a certificate, a client secret.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { servicePrincipalResource } from '../../src/api/group.ts';
import { customers, platform } from '../azure-emulator/sample-world.ts';
import { sharedCluster, testNamespace } from '../support/cluster.ts';
import {
  apply,
  condition,
  createSecretIdentity,
  integration,
  startOperator,
  startSampleEmulator,
  waitForReason,
} from '../support/operator.ts';

const cluster = sharedCluster();
const kc = cluster.kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const { healthy } = customers;
// The real API server's issuer, as its ServiceAccount tokens carry it.
const issuer = 'https://kubernetes.default.svc.cluster.local';

describe('identities', { concurrency: true }, async () => {
  const suite = { name: 'identities', after };
  const operatorNamespace = await testNamespace(suite, kc);
  await core.createNamespacedServiceAccount({
    namespace: operatorNamespace,
    body: { metadata: { name: 'azure-openai-operator' } },
  });
  const subject = `system:serviceaccount:${operatorNamespace}:azure-openai-operator`;
  // Entra ID trusts the cluster's issuer: its JWKS is the API server's signing key.
  const { createPublicKey } = await import('node:crypto');
  const { readFileSync } = await import('node:fs');
  const jwk = createPublicKey(readFileSync(cluster.serviceAccountPublicKeyPath)).export({
    format: 'jwk',
  });
  const { emulator, credentials } = await startSampleEmulator(suite, (world) => {
    world.apps[0]?.federatedCredentials?.push({
      issuer,
      subject,
      audiences: ['api://AzureADTokenExchange'],
      jwks: { keys: [{ ...jwk, use: 'sig', alg: 'RS256' }] },
    } as never);
  });
  const operator = await startOperator(suite, { kc, emulator, operatorNamespace });

  const spec = (name: string) => ({
    tenantId: healthy.tenantId,
    endpoint: `https://${healthy.resource}.openai.azure.com/`,
    servicePrincipalRef: { name },
    deployments: [{ name: 'gpt-4o' }],
  });
  const servicePrincipal = (name: string, credential: object) =>
    apply(kc, {
      apiVersion: `${servicePrincipalResource.group}/${servicePrincipalResource.version}`,
      kind: servicePrincipalResource.kind,
      metadata: { name },
      spec: { clientId: platform.appId, credential, allowedNamespaces: {} },
    } as never);

  test('workload identity: a projected ServiceAccount token of the real API server', async (t) => {
    const token = await core.createNamespacedServiceAccountToken({
      namespace: operatorNamespace,
      name: 'azure-openai-operator',
      body: { spec: { audiences: ['api://AzureADTokenExchange'], expirationSeconds: 3600 } },
    });
    const tokenFilePath = join(tmpdir(), `azure-identity-token-${randomUUID()}`);
    writeFileSync(tokenFilePath, token.status?.token ?? '');
    const name = `wi-${operatorNamespace}`;
    await servicePrincipal(name, { workloadIdentity: { tokenFilePath } });
    const namespace = await operator.namespace(t);
    await apply(kc, integration(namespace, 'it', spec(name)));
    const ready = await waitForReason(kc, namespace, 'it', 'Ready');
    assert.equal(ready.status?.servicePrincipal?.objectId, healthy.servicePrincipalObjectId);
    assert.equal(
      emulator
        .requests({ service: 'entra', outcome: 'ok', grantType: 'client_credentials' })
        .some((r) => r.tenantId === healthy.tenantId),
      true,
    );
  });

  test('certificate: a PEM in a Secret of the operator namespace', async (t) => {
    const name = `cert-${operatorNamespace}`;
    await core.createNamespacedSecret({
      namespace: operatorNamespace,
      body: {
        metadata: { name },
        stringData: {
          'certificate.pem': `${credentials.certificate.keyPem}${credentials.certificate.certPem}`,
        },
      },
    });
    await servicePrincipal(name, { certificate: { secretRef: { name } } });
    const namespace = await operator.namespace(t);
    await apply(kc, integration(namespace, 'it', spec(name)));
    const ready = await waitForReason(kc, namespace, 'it', 'Ready');
    assert.equal(condition(ready, 'TokenIssued')?.status, 'True');
  });

  test('client secret: a Secret of the operator namespace', async (t) => {
    const name = `secret-${operatorNamespace}`;
    await createSecretIdentity(t, kc, operatorNamespace, { name });
    const namespace = await operator.namespace(t);
    await apply(kc, integration(namespace, 'it', spec(name)));
    await waitForReason(kc, namespace, 'it', 'Ready');
  });

  test('a rotated client secret is used at once, not at the next probe interval', async (t) => {
    const name = `rotated-${operatorNamespace}`;
    await createSecretIdentity(t, kc, operatorNamespace, { name, secret: 'revoked-secret-value' });
    const namespace = await operator.namespace(t);
    await apply(kc, integration(namespace, 'it', spec(name)));
    await waitForReason(kc, namespace, 'it', 'InvalidClientSecret');
    // A definitive failure is next checked in 5 minutes: only the Secret's watch can wake it.
    await core.replaceNamespacedSecret({
      namespace: operatorNamespace,
      name: `${name}-credential`,
      body: {
        metadata: { name: `${name}-credential` },
        stringData: { clientSecret: platform.clientSecret },
      },
    });
    await waitForReason(kc, namespace, 'it', 'Ready', 10_000);
  });
});
