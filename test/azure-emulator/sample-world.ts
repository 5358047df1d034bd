// A sample world and the fixture builders it is made of: one platform tenant
// with its multi-tenant app (secret, certificate and federated credential),
// and customers that each exercise one link of the trust chain. Tests build
// variations from the same builders instead of copying worlds.
import { createFederatedIssuer, type FederatedIssuer } from './federated-issuer.ts';
import { type ClientCertificate, createClientCertificate } from './pki.ts';
import {
  type App,
  type Deployment,
  defaultApiVersions,
  type Resource,
  type Tenant,
  type World,
} from './world.ts';

// Builders return complete (parsed-shape) objects, so their results fit both
// setWorld() input and updateWorld() drafts.

export const platform = {
  tenantId: 'bdf330b8-cb1d-4566-bda1-3291a30f13ff',
  appId: '35cad0a1-6753-4059-838c-487090add575',
  displayName: 'RunWhen LLM platform',
  clientSecret: 'emulator-secret-value~not-a-real-secret',
  expiredClientSecret: 'emulator-expired-secret~not-a-real-secret',
  egressIp: '203.0.113.10',
} as const;

type Customer = {
  tenantId: string;
  displayName: string;
  servicePrincipalObjectId: string;
  subscriptionId: string;
  resourceGroup: string;
  resource: string;
};

// One customer per link of the trust chain that can break.
export const customers = {
  // Consented; OpenAI User + Reader; chat and embeddings deployments.
  healthy: customer(
    'f2f34c00-0d5c-4220-8d5e-210f75706894',
    'Contoso',
    '45121d90-ad42-4535-9428-24fb47b4aaf5',
    '51ddccde-8cf7-4d24-839c-9f4947a5d27e',
    'contoso-openai',
  ),
  // Never consented: the token request fails with AADSTS700016.
  consentMissing: customer(
    '36ded3fc-41ea-4a6b-8742-a42b5122a734',
    'Fabrikam',
    'f8c580e2-5094-4c1d-ae27-32d5448853ab',
    'bffefbf6-7eca-45f0-ae79-4ebe61869ef0',
    'fabrikam-openai',
  ),
  // Consented, but no role at all: data plane 401 PermissionDenied, ARM 403.
  roleMissing: customer(
    '75b63eb0-01eb-45ba-84bb-86a5f1b76081',
    'Tailspin',
    '87a4292c-e9ae-4fa9-a08c-dd3795032ec1',
    '4992bbd9-e689-472c-b5fe-cf1e4ef6c98a',
    'tailspin-openai',
  ),
  // Firewall with defaultAction Deny and ipRules that miss the egress IP.
  firewall: customer(
    '9302a053-f826-4b81-8fac-08746c90b979',
    'Woodgrove',
    'cf13ca78-5ad6-4e0c-9010-f38cc707804f',
    '45e2eb23-3df9-4e44-aa60-8fbb24af0e51',
    'woodgrove-openai',
  ),
  // Role assigned (data plane only, no ARM read), but not the deployment the platform wants.
  deploymentMissing: customer(
    '15c075ee-d2c3-4cc6-9d24-c122322b6302',
    'Northwind',
    '94558b24-8f93-4ad3-904d-b680c7f06232',
    '8e4e80cd-c513-43b5-98bb-aa8df8871b40',
    'northwind-openai',
  ),
  // Healthy, in Azure Government: login.microsoftonline.us, *.openai.azure.us.
  usGov: customer(
    '41272981-8706-43d3-b19d-3839bbcd6a17',
    'Adatum (US Gov)',
    'fb838784-83ab-4641-b690-f36b53e15646',
    '6670fdac-0e98-41a7-9aa5-024a7d63679a',
    'adatum-gov-openai',
  ),
} as const satisfies Record<string, Customer>;

function customer(
  tenantId: string,
  displayName: string,
  servicePrincipalObjectId: string,
  subscriptionId: string,
  resource: string,
): Customer {
  return {
    tenantId,
    displayName,
    servicePrincipalObjectId,
    subscriptionId,
    resourceGroup: 'rg-openai',
    resource,
  };
}

export type SampleCredentials = {
  certificate: Pick<ClientCertificate, 'thumbprintSha256' | 'certPem'>;
  federatedIssuer: Pick<FederatedIssuer, 'issuer' | 'subject' | 'audience' | 'jwks'>;
};

// Key material for the platform app's certificate and federated credentials;
// the private halves stay with the test (or main.ts writes them to files).
export async function createSampleCredentials(): Promise<{
  certificate: ClientCertificate;
  federatedIssuer: FederatedIssuer;
}> {
  const [certificate, federatedIssuer] = await Promise.all([
    createClientCertificate('CN=runwhen-llm-platform'),
    createFederatedIssuer(),
  ]);
  return { certificate, federatedIssuer };
}

export function tenant(
  c: Pick<Customer, 'tenantId' | 'displayName'>,
  overrides: Partial<Tenant> = {},
): Tenant {
  return {
    id: c.tenantId,
    displayName: c.displayName,
    conditionalAccessBlockedApps: [],
    ...overrides,
  };
}

export function chatDeployment(overrides: Partial<Deployment> = {}): Deployment {
  return {
    name: 'gpt-4o',
    model: { format: 'OpenAI', name: 'gpt-4o', version: '2024-08-06' },
    sku: { name: 'Standard', capacity: 100 },
    capability: 'chat',
    provisioningState: 'Succeeded',
    ...overrides,
  };
}

export function embeddingsDeployment(overrides: Partial<Deployment> = {}): Deployment {
  return {
    name: 'text-embedding-3-small',
    model: { format: 'OpenAI', name: 'text-embedding-3-small', version: '1' },
    sku: { name: 'Standard', capacity: 100 },
    capability: 'embeddings',
    provisioningState: 'Succeeded',
    ...overrides,
  };
}

export function dataPlaneRole(c: Customer, roleName = 'Cognitive Services OpenAI User') {
  return { principalId: c.servicePrincipalObjectId, roleName };
}

export function readerRole(c: Customer) {
  return { principalId: c.servicePrincipalObjectId, roleName: 'Reader' };
}

export function openAiResource(c: Customer, overrides: Partial<Resource> = {}): Resource {
  return {
    name: c.resource,
    cloud: 'public',
    tenantId: c.tenantId,
    subscriptionId: c.subscriptionId,
    resourceGroup: c.resourceGroup,
    location: 'eastus',
    apiVersions: [...defaultApiVersions],
    network: {
      publicNetworkAccess: 'Enabled',
      defaultAction: 'Allow',
      ipRules: [],
      privateEndpointConnections: [],
    },
    deployments: [chatDeployment(), embeddingsDeployment()],
    roleAssignments: [dataPlaneRole(c), readerRole(c)],
    ...overrides,
  };
}

export function platformApp(
  credentials: SampleCredentials,
  consentedCustomers: Customer[],
  overrides: Partial<App> = {},
): App {
  return {
    appId: platform.appId,
    homeTenantId: platform.tenantId,
    displayName: platform.displayName,
    secrets: [
      { value: platform.clientSecret, expiresAt: '2099-12-31T00:00:00Z' },
      { value: platform.expiredClientSecret, expiresAt: '2024-01-01T00:00:00Z' },
    ],
    certificates: [
      {
        thumbprintSha256: credentials.certificate.thumbprintSha256,
        certPem: credentials.certificate.certPem,
      },
    ],
    federatedCredentials: [
      {
        issuer: credentials.federatedIssuer.issuer,
        subject: credentials.federatedIssuer.subject,
        audiences: [credentials.federatedIssuer.audience],
        jwks: credentials.federatedIssuer.jwks,
      },
    ],
    consents: consentedCustomers.map((c) => ({
      tenantId: c.tenantId,
      servicePrincipalObjectId: c.servicePrincipalObjectId,
    })),
    ...overrides,
  };
}

export function sampleWorld(credentials: SampleCredentials): World {
  const { healthy, consentMissing, roleMissing, firewall, deploymentMissing, usGov } = customers;
  return {
    tenants: [
      tenant({ tenantId: platform.tenantId, displayName: 'RunWhen' }),
      ...Object.values(customers).map((c) => tenant(c)),
    ],
    apps: [platformApp(credentials, [healthy, roleMissing, firewall, deploymentMissing, usGov])],
    resources: [
      openAiResource(healthy),
      openAiResource(consentMissing),
      openAiResource(roleMissing, { roleAssignments: [] }),
      openAiResource(firewall, {
        network: {
          publicNetworkAccess: 'Enabled',
          defaultAction: 'Deny',
          ipRules: ['198.51.100.0/24', '192.0.2.7'],
          privateEndpointConnections: [],
        },
      }),
      openAiResource(deploymentMissing, {
        deployments: [embeddingsDeployment()],
        roleAssignments: [dataPlaneRole(deploymentMissing)],
      }),
      openAiResource(usGov, { cloud: 'usgov', location: 'usgovvirginia' }),
    ],
    caller: { egressIp: platform.egressIp, privateEndpointAccess: [] },
    tokenLifetimeSeconds: 3600,
    faults: [],
  };
}
