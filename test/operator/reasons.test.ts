// Every reason of the vocabulary, reached from the Azure (emulator) or cluster state
// that really causes it, through the real operator, API server and Azure SDKs.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { servicePrincipalResource } from '../../src/api/group.ts';
import { failureReasons } from '../../src/api/reasons.ts';
import type { FaultInput } from '../azure-emulator/index.ts';
import { createClientCertificate } from '../azure-emulator/pki.ts';
import { customers, openAiResource, platform, tenant } from '../azure-emulator/sample-world.ts';
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

const kc = sharedCluster().kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const { healthy, consentMissing, roleMissing, firewall, deploymentMissing } = customers;
const litware = {
  tenantId: 'c3a5d1f2-7b9e-4c1a-8d2f-5e6a7b8c9d01',
  displayName: 'Litware (conditional access)',
};
const odd = { tenantId: 'd4b6e2a3-8c0f-4d2b-9e3a-6f7b8c9d0e12', displayName: 'Odd answers' };
const endpoint = (resource: string) => `https://${resource}.openai.azure.com/`;

// Resources of the healthy customer whose only difference is a fault on their host.
const faulty = {
  throttled: 'throttled-openai',
  unavailable: 'unavailable-openai',
  reset: 'reset-openai',
  hanging: 'hanging-openai',
  tokenRejected: 'rejecting-openai',
  odd: 'odd-openai',
};
const faults: FaultInput[] = [
  {
    match: { service: 'openai', resource: faulty.throttled },
    kind: 'status',
    status: 429,
    retryAfterSeconds: 1,
    body: 'Too Many Requests',
  },
  {
    match: { service: 'openai', resource: faulty.unavailable },
    kind: 'status',
    status: 503,
    body: {
      error: {
        code: 'ServiceUnavailable',
        message: 'The service is temporarily unable to process your request.',
      },
    },
  },
  { match: { service: 'openai', resource: faulty.reset }, kind: 'reset' },
  { match: { service: 'openai', resource: faulty.hanging }, kind: 'hang' },
  {
    match: { service: 'openai', resource: faulty.tokenRejected },
    kind: 'status',
    status: 401,
    body: {
      statusCode: 401,
      message:
        'Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired.',
    },
  },
  {
    match: { service: 'openai', resource: faulty.odd, deployment: 'gpt-4o' },
    kind: 'status',
    status: 409,
    body: { error: { code: 'Conflict', message: 'The deployment is being updated.' } },
  },
  {
    match: { service: 'entra', tenantId: odd.tenantId },
    kind: 'status',
    status: 400,
    body: {
      error: 'invalid_request',
      error_description: 'AADSTS50000: There was an error issuing a token.',
      error_codes: [50000],
    },
  },
];

interface Scenario {
  reason: keyof typeof failureReasons;
  /** The link condition that carries the reason (Ready always carries it too). */
  link: string;
  tenantId: string;
  endpoint: string;
  deployments?: string[];
  apiVersion?: string;
  identity?:
    | 'default'
    | 'wrong-secret'
    | 'expired-secret'
    | 'bad-certificate'
    | 'federated-mismatch'
    | 'missing-secret'
    | 'no-such'
    | 'other-namespaces'
    | 'other-tenants'
    | 'gov';
  before?: (namespace: string) => Promise<void>;
  /** What else the user must be able to see once the reason is reported. */
  after?: (namespace: string) => Promise<void>;
}

const scenarios: Scenario[] = [
  {
    reason: 'TenantNotFound',
    link: 'TokenIssued',
    tenantId: randomUUID(),
    endpoint: endpoint(healthy.resource),
  },
  {
    reason: 'ConsentMissing',
    link: 'TokenIssued',
    tenantId: consentMissing.tenantId,
    endpoint: endpoint(consentMissing.resource),
  },
  {
    reason: 'InvalidClientSecret',
    link: 'TokenIssued',
    tenantId: healthy.tenantId,
    endpoint: endpoint(healthy.resource),
    identity: 'wrong-secret',
  },
  {
    reason: 'ClientSecretExpired',
    link: 'TokenIssued',
    tenantId: healthy.tenantId,
    endpoint: endpoint(healthy.resource),
    identity: 'expired-secret',
  },
  {
    reason: 'InvalidCertificate',
    link: 'TokenIssued',
    tenantId: healthy.tenantId,
    endpoint: endpoint(healthy.resource),
    identity: 'bad-certificate',
  },
  {
    reason: 'FederatedCredentialMismatch',
    link: 'TokenIssued',
    tenantId: healthy.tenantId,
    endpoint: endpoint(healthy.resource),
    identity: 'federated-mismatch',
  },
  {
    reason: 'ConditionalAccessBlocked',
    link: 'TokenIssued',
    tenantId: litware.tenantId,
    endpoint: endpoint(healthy.resource),
  },
  {
    reason: 'AuthenticationFailed',
    link: 'TokenIssued',
    tenantId: odd.tenantId,
    endpoint: endpoint(healthy.resource),
  },
  {
    reason: 'CredentialNotFound',
    link: 'TokenIssued',
    tenantId: healthy.tenantId,
    endpoint: endpoint(healthy.resource),
    identity: 'missing-secret',
  },
  {
    reason: 'ServicePrincipalNotFound',
    link: 'TokenIssued',
    tenantId: healthy.tenantId,
    endpoint: endpoint(healthy.resource),
    identity: 'no-such',
  },
  {
    reason: 'ServicePrincipalNotAllowed',
    link: 'TokenIssued',
    tenantId: healthy.tenantId,
    endpoint: endpoint(healthy.resource),
    identity: 'other-namespaces',
  },
  {
    reason: 'TenantNotAllowed',
    link: 'TokenIssued',
    tenantId: healthy.tenantId,
    endpoint: endpoint(healthy.resource),
    identity: 'other-tenants',
  },
  {
    reason: 'CloudMismatch',
    link: 'TokenIssued',
    tenantId: healthy.tenantId,
    endpoint: endpoint(healthy.resource),
    identity: 'gov',
  },
  // The token is for the right tenant, but the resource lives in another one.
  {
    reason: 'TenantMismatch',
    link: 'EndpointReachable',
    tenantId: roleMissing.tenantId,
    endpoint: endpoint(healthy.resource),
  },
  {
    reason: 'FirewallDenied',
    link: 'EndpointReachable',
    tenantId: firewall.tenantId,
    endpoint: endpoint(firewall.resource),
  },
  {
    reason: 'ApiVersionUnsupported',
    link: 'EndpointReachable',
    tenantId: healthy.tenantId,
    endpoint: endpoint(healthy.resource),
    apiVersion: '2019-01-01',
  },
  {
    reason: 'TokenRejected',
    link: 'EndpointReachable',
    tenantId: healthy.tenantId,
    endpoint: endpoint(faulty.tokenRejected),
  },
  {
    reason: 'Throttled',
    link: 'EndpointReachable',
    tenantId: healthy.tenantId,
    endpoint: endpoint(faulty.throttled),
  },
  {
    reason: 'ServiceUnavailable',
    link: 'EndpointReachable',
    tenantId: healthy.tenantId,
    endpoint: endpoint(faulty.unavailable),
  },
  {
    reason: 'ConnectionFailed',
    link: 'EndpointReachable',
    tenantId: healthy.tenantId,
    endpoint: endpoint(faulty.reset),
  },
  {
    reason: 'Timeout',
    link: 'EndpointReachable',
    tenantId: healthy.tenantId,
    endpoint: endpoint(faulty.hanging),
  },
  {
    reason: 'RoleMissing',
    link: 'DeploymentsReady',
    tenantId: roleMissing.tenantId,
    endpoint: endpoint(roleMissing.resource),
  },
  {
    reason: 'DeploymentNotFound',
    link: 'DeploymentsReady',
    tenantId: deploymentMissing.tenantId,
    endpoint: endpoint(deploymentMissing.resource),
    deployments: ['gpt-4o'],
  },
  {
    reason: 'DeploymentNotUsable',
    link: 'DeploymentsReady',
    tenantId: healthy.tenantId,
    endpoint: endpoint(faulty.odd),
    deployments: ['gpt-4o'],
  },
  {
    reason: 'ConfigMapConflict',
    link: 'Published',
    tenantId: healthy.tenantId,
    endpoint: endpoint(healthy.resource),
    before: async (namespace) => {
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: 'it-azure-openai' }, data: { owner: 'someone else' } },
      });
    },
    after: async (namespace) => {
      const untouched = await core.readNamespacedConfigMap({ namespace, name: 'it-azure-openai' });
      assert.deepEqual(
        untouched.data,
        { owner: 'someone else' },
        'the foreign ConfigMap is left alone',
      );
      assert.equal(untouched.metadata?.ownerReferences, undefined);
    },
  },
];

describe('reason vocabulary', { concurrency: true }, async () => {
  const suite = { name: 'reasons', after };
  const operatorNamespace = await testNamespace(suite, kc);
  const federatedTokenFile = join(tmpdir(), `federated-${randomUUID()}.jwt`);
  const { emulator, credentials } = await startSampleEmulator(suite, (world) => {
    world.tenants.push(
      tenant(litware, { conditionalAccessBlockedApps: [platform.appId] }),
      tenant(odd),
    );
    const app = world.apps[0];
    app?.consents?.push(
      { tenantId: litware.tenantId, servicePrincipalObjectId: randomUUID() },
      { tenantId: odd.tenantId, servicePrincipalObjectId: randomUUID() },
    );
    for (const name of Object.values(faulty))
      world.resources.push(openAiResource(healthy, { name }));
    world.faults = faults;
  });
  writeFileSync(
    federatedTokenFile,
    credentials.federatedIssuer.issueToken({ subject: 'system:serviceaccount:elsewhere:intruder' }),
  );
  const unregistered = await createClientCertificate('CN=not-registered');
  await core.createNamespacedSecret({
    namespace: operatorNamespace,
    body: {
      metadata: { name: 'unregistered-cert' },
      stringData: { 'certificate.pem': `${unregistered.keyPem}${unregistered.certPem}` },
    },
  });

  const identities = {
    default: { name: `default-${operatorNamespace}` },
    'wrong-secret': { name: `wrong-${operatorNamespace}`, secret: 'not-the-secret' },
    'expired-secret': {
      name: `expired-${operatorNamespace}`,
      secret: platform.expiredClientSecret,
    },
    'other-namespaces': {
      name: `elsewhere-${operatorNamespace}`,
      allowedNamespaces: { matchLabels: { team: 'someone-else' } },
    },
    'other-tenants': { name: `tenants-${operatorNamespace}`, allowedTenants: [randomUUID()] },
    gov: { name: `gov-${operatorNamespace}`, cloud: 'AzureUSGovernment' },
  } satisfies Record<string, Parameters<typeof createSecretIdentity>[3]>;
  for (const identity of Object.values(identities))
    await createSecretIdentity(suite, kc, operatorNamespace, identity);
  const special = {
    'bad-certificate': { certificate: { secretRef: { name: 'unregistered-cert' } } },
    'federated-mismatch': { workloadIdentity: { tokenFilePath: federatedTokenFile } },
    'missing-secret': { clientSecret: { secretRef: { name: 'does-not-exist' } } },
  };
  for (const [key, credential] of Object.entries(special)) {
    await apply(kc, {
      apiVersion: `${servicePrincipalResource.group}/${servicePrincipalResource.version}`,
      kind: servicePrincipalResource.kind,
      metadata: { name: `${key}-${operatorNamespace}` },
      spec: { clientId: platform.appId, credential, allowedNamespaces: {} },
    } as never);
  }
  const identityName = (identity: Scenario['identity'] = 'default') =>
    identity === 'no-such'
      ? 'no-such-identity'
      : identity in identities
        ? (identities as Record<string, { name: string }>)[identity]?.name
        : `${identity}-${operatorNamespace}`;

  const operator = await startOperator(suite, {
    kc,
    emulator,
    operatorNamespace,
    env: { AZURE_REQUEST_TIMEOUT: '1s', TRANSIENT_RETRY_BASE: '100ms' },
  });

  for (const scenario of scenarios) {
    test(scenario.reason, async (t) => {
      const namespace = await operator.namespace(t);
      await scenario.before?.(namespace);
      await apply(
        kc,
        integration(namespace, 'it', {
          tenantId: scenario.tenantId,
          endpoint: scenario.endpoint,
          servicePrincipalRef: { name: identityName(scenario.identity) },
          deployments: (scenario.deployments ?? ['gpt-4o', 'text-embedding-3-small']).map(
            (name) => ({ name }),
          ),
          probe: { interval: '30s' },
          ...(scenario.apiVersion ? { apiVersion: scenario.apiVersion } : {}),
        }),
      );
      // Transient reasons reach Ready=False only after the damping threshold.
      const reported = await waitForReason(kc, namespace, 'it', scenario.reason, 30_000, 'False');
      const ready = condition(reported, 'Ready');
      assert.equal(ready?.status, 'False');
      assert.equal(condition(reported, scenario.link)?.reason, scenario.reason);
      assert.ok((ready?.message.length ?? 0) > 20, 'the message explains what to do');
      const transient = failureReasons[scenario.reason].transient;
      assert.equal(
        condition(reported, 'Stalled')?.status,
        transient ? undefined : 'True',
        'definitive failures are Stalled',
      );
      await scenario.after?.(namespace);
    });
  }
});

// DNS and TLS failures need the network itself to misbehave: the operator here
// resolves one host for real (there is no such resource) and reaches another
// through an emulator whose CA it does not trust.
describe('network reasons', { concurrency: true }, async () => {
  const suite = { name: 'network', after };
  const operatorNamespace = await testNamespace(suite, kc);
  const { emulator } = await startSampleEmulator(suite);
  const { emulator: untrusted } = await startSampleEmulator(suite);
  const identity = `net-${operatorNamespace}`;
  await createSecretIdentity(suite, kc, operatorNamespace, { name: identity });
  const port = (e: typeof emulator) => new URL(e.url).port;
  const operator = await startOperator(suite, {
    kc,
    emulator,
    operatorNamespace,
    env: {
      AZURE_CONNECT_TO: [
        `login.microsoftonline.com:443:127.0.0.1:${port(emulator)}`,
        `${healthy.resource}.openai.azure.com:443:127.0.0.1:${port(untrusted)}`,
      ].join(','),
    },
  });
  const cases = [
    { reason: 'DNSFailure', resource: `no-such-resource-${randomUUID().slice(0, 8)}` },
    { reason: 'TLSFailure', resource: healthy.resource },
  ];
  for (const { reason, resource } of cases) {
    test(reason, async (t) => {
      const namespace = await operator.namespace(t);
      await apply(
        kc,
        integration(namespace, 'it', {
          tenantId: healthy.tenantId,
          endpoint: endpoint(resource),
          servicePrincipalRef: { name: identity },
          deployments: [{ name: 'gpt-4o' }],
        }),
      );
      const reported = await waitForReason(kc, namespace, 'it', reason, 30_000, 'False');
      assert.equal(condition(reported, 'EndpointReachable')?.reason, reason);
      assert.equal(
        untrusted.requests().filter((r) => r.bearerTokenPresent).length,
        0,
        'no token crossed the unverified connection',
      );
    });
  }
});
