// The emulated Azure as data: tenants, app registrations, OpenAI resources,
// the caller's network position and injected faults. Validated with zod at
// every entry (library, admin API, --world file); types are inferred.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { cloudNames } from './clouds.ts';

// Data-plane api-versions a resource accepts unless a world says otherwise.
export const defaultApiVersions = [
  '2024-02-01',
  '2024-06-01',
  '2024-10-21',
  '2024-12-01-preview',
  '2025-01-01-preview',
  '2025-03-01-preview',
  '2025-04-01-preview',
];

const id = z.guid();
const ip = z.union([z.ipv4(), z.ipv6()]);

const tenantSchema = z.object({
  id,
  displayName: z.string().min(1),
  conditionalAccessBlockedApps: z.array(id).default([]),
});

const secretSchema = z.object({
  value: z.string().min(1),
  expiresAt: z.iso.datetime({ offset: true }),
});

const certificateSchema = z
  .object({
    // x5t#S256: base64url of the SHA-256 of the certificate's DER.
    thumbprintSha256: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'x5t#S256 must be base64url SHA-256'),
    publicKeyPem: z.string().optional(),
    certPem: z.string().optional(),
  })
  .refine((c) => c.publicKeyPem !== undefined || c.certPem !== undefined, {
    message: 'a certificate needs publicKeyPem or certPem',
  });

const jwkSchema = z.looseObject({ kty: z.string(), kid: z.string().optional() });

const federatedCredentialSchema = z.object({
  issuer: z.string().min(1),
  subject: z.string().min(1),
  audiences: z.array(z.string().min(1)).min(1).default(['api://AzureADTokenExchange']),
  jwks: z.object({ keys: z.array(jwkSchema) }),
});

const consentSchema = z.object({ tenantId: id, servicePrincipalObjectId: id });

const appSchema = z.object({
  appId: id,
  homeTenantId: id,
  displayName: z.string().min(1),
  secrets: z.array(secretSchema).default([]),
  certificates: z.array(certificateSchema).default([]),
  federatedCredentials: z.array(federatedCredentialSchema).default([]),
  consents: z.array(consentSchema).default([]),
});

const privateEndpointConnectionSchema = z.object({
  name: z.string().min(1),
  status: z.enum(['Pending', 'Approved', 'Rejected']),
});

const networkSchema = z.object({
  publicNetworkAccess: z.enum(['Enabled', 'Disabled']).default('Enabled'),
  defaultAction: z.enum(['Allow', 'Deny']).default('Allow'),
  ipRules: z.array(z.union([ip, z.cidrv4(), z.cidrv6()])).default([]),
  privateEndpointConnections: z.array(privateEndpointConnectionSchema).default([]),
});

const deploymentSchema = z.object({
  name: z.string().min(1),
  model: z.object({
    format: z.string().default('OpenAI'),
    name: z.string().min(1),
    version: z.string().min(1),
  }),
  // capacity is in units of 1K tokens per minute; requests per minute are 6 per unit.
  sku: z.object({ name: z.string().default('Standard'), capacity: z.number().int().positive() }),
  capability: z.enum(['chat', 'embeddings']),
  provisioningState: z
    .enum(['Succeeded', 'Creating', 'Updating', 'Deleting', 'Failed'])
    .default('Succeeded'),
});

const roleAssignmentSchema = z.object({ principalId: id, roleName: z.string().min(1) });

const resourceSchema = z.object({
  // The custom subdomain: <name>.openai.azure.com.
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'resource name is a lowercase DNS label'),
  cloud: z.enum(cloudNames).default('public'),
  tenantId: id,
  subscriptionId: id,
  resourceGroup: z.string().min(1),
  location: z.string().min(1).default('eastus'),
  apiVersions: z.array(z.string().min(1)).default(defaultApiVersions),
  network: networkSchema.default({
    publicNetworkAccess: 'Enabled',
    defaultAction: 'Allow',
    ipRules: [],
    privateEndpointConnections: [],
  }),
  deployments: z.array(deploymentSchema).default([]),
  roleAssignments: z.array(roleAssignmentSchema).default([]),
});

const callerSchema = z.object({
  // The platform's public egress IP as Azure sees it, checked against ipRules.
  egressIp: ip,
  // Resources the platform reaches through a private endpoint.
  privateEndpointAccess: z.array(z.string()).default([]),
});

export const faultSchema = z
  .object({
    match: z.object({
      service: z.enum(['entra', 'openai', 'arm']),
      tenantId: z.string().optional(),
      resource: z.string().optional(),
      deployment: z.string().optional(),
    }),
    kind: z.enum(['latency', 'hang', 'status', 'reset']),
    ms: z.number().int().nonnegative().optional(),
    status: z.number().int().min(100).max(599).optional(),
    retryAfterSeconds: z.number().int().nonnegative().optional(),
    // A string is sent as text/plain, anything else as JSON.
    body: z.unknown().optional(),
    // How many more requests it applies to; absent means forever.
    remaining: z.number().int().nonnegative().optional(),
  })
  .refine((f) => f.kind !== 'latency' || f.ms !== undefined, {
    message: 'a latency fault needs ms',
  })
  .refine((f) => f.kind !== 'status' || f.status !== undefined, {
    message: 'a status fault needs status',
  });

export const worldSchema = z
  .object({
    tenants: z.array(tenantSchema),
    apps: z.array(appSchema),
    resources: z.array(resourceSchema),
    caller: callerSchema,
    tokenLifetimeSeconds: z.number().int().positive().default(3600),
    faults: z.array(faultSchema).default([]),
  })
  .superRefine((world, ctx) => {
    reportDuplicates(
      ctx,
      world.tenants.map((t) => t.id),
      'tenants',
    );
    reportDuplicates(
      ctx,
      world.apps.map((a) => a.appId),
      'apps',
    );
    reportDuplicates(
      ctx,
      world.resources.map((r) => `${r.cloud}/${r.name}`),
      'resources',
    );
  });

function reportDuplicates(ctx: z.RefinementCtx, keys: string[], path: string): void {
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [path], message: `duplicate ${key}` });
    seen.add(key);
  }
}

export type World = z.infer<typeof worldSchema>;
export type WorldInput = z.input<typeof worldSchema>;
export type Tenant = World['tenants'][number];
export type App = World['apps'][number];
export type AppSecret = App['secrets'][number];
export type AppCertificate = App['certificates'][number];
export type FederatedCredential = App['federatedCredentials'][number];
export type Resource = World['resources'][number];
export type Deployment = Resource['deployments'][number];
export type Fault = z.infer<typeof faultSchema>;
export type FaultInput = z.input<typeof faultSchema>;

export function parseWorld(input: unknown): World {
  return worldSchema.parse(input);
}

export function parseFaults(input: unknown): Fault[] {
  return z.array(faultSchema).parse(input);
}

// The app's service principal in a tenant: a consent record, or, in the home
// tenant, a stable id derived from the app and tenant ids.
export function servicePrincipalObjectId(
  world: World,
  appId: string,
  tenantId: string,
): string | undefined {
  const app = world.apps.find((a) => a.appId === appId);
  if (app === undefined) return undefined;
  const consent = app.consents.find((c) => c.tenantId === tenantId);
  if (consent !== undefined) return consent.servicePrincipalObjectId;
  return app.homeTenantId === tenantId ? derivedObjectId(appId, tenantId) : undefined;
}

// A role assignment only grants anything while its principal exists: a
// withdrawn consent (deleted service principal) leaves dead assignments.
export function servicePrincipalExists(world: World, objectId: string): boolean {
  return world.apps.some(
    (app) =>
      app.consents.some((c) => c.servicePrincipalObjectId === objectId) ||
      derivedObjectId(app.appId, app.homeTenantId) === objectId,
  );
}

function derivedObjectId(appId: string, tenantId: string): string {
  const hex = createHash('sha256').update(`${appId}/${tenantId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
