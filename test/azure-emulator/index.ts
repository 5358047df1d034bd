// The Azure emulator as a library: Entra ID, the Azure OpenAI data plane and
// ARM behind one HTTPS port, reached under their real host names through a
// connect-to rule and trusted through a per-run CA.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenAuthority } from './access-tokens.ts';
import { createAdmin } from './admin.ts';
import { createArm } from './arm.ts';
import { createEntra } from './entra.ts';
import { createOpenAi } from './openai.ts';
import { createCertificateAuthority, issueServerCertificate, serverHostNames } from './pki.ts';
import { createRateLimiter } from './rate-limit.ts';
import { createRequestLog, type RequestFilter, type RequestLogEntry } from './request-log.ts';
import { createEmulatorServer } from './server.ts';
import {
  type FaultInput,
  parseFaults,
  parseWorld,
  type Resource,
  servicePrincipalObjectId,
  type World,
  type WorldInput,
} from './world.ts';

export { type CloudName, clouds, openAiEndpoint } from './clouds.ts';
export { createFederatedIssuer, type FederatedIssuer } from './federated-issuer.ts';
export { type ClientCertificate, createClientCertificate, thumbprintSha256 } from './pki.ts';
export type { RequestFilter, RequestLogEntry } from './request-log.ts';
export { armReadRoles, dataActionRoles } from './roles.ts';
export type { Fault, FaultInput, World, WorldInput } from './world.ts';

export type AzureEmulatorOptions = {
  world: WorldInput;
  // 0 (default) picks a free port.
  port?: number;
  // More names for the server certificate, e.g. evil.example.com.
  extraHostNames?: string[];
};

export type MintAccessTokenOptions = {
  tenantId: string;
  appId: string;
  audience: string;
  // Defaults to the app's service principal in the tenant.
  objectId?: string;
  lifetimeSeconds?: number;
  // Shifts iat/nbf/exp; e.g. -7200 with the default lifetime gives an expired token.
  offsetSeconds?: number;
};

export type AzureEmulator = {
  url: string;
  port: number;
  caPem: string;
  caPath: string;
  // Redirects every host to the emulator, e.g. "::127.0.0.1:43121".
  connectTo: string;
  // The names the server certificate covers.
  hostNames: string[];
  world(): World;
  setWorld(world: WorldInput): void;
  updateWorld(mutate: (draft: World) => void): void;
  revokeRole(resource: string, principalId: string, roleName: string): void;
  deleteDeployment(resource: string, name: string): void;
  withdrawConsent(appId: string, tenantId: string): void;
  setFaults(faults: FaultInput[]): void;
  requests(filter?: RequestFilter): RequestLogEntry[];
  clearRequests(): void;
  // A token signed like the ones Entra issues here, for cases no real credential produces.
  mintAccessToken(options: MintAccessTokenOptions): string;
  servicePrincipalObjectId(appId: string, tenantId: string): string | undefined;
  close(): Promise<void>;
};

export async function startAzureEmulator(options: AzureEmulatorOptions): Promise<AzureEmulator> {
  let world = parseWorld(options.world);
  const hostNames = serverHostNames(options.extraHostNames);
  const [ca, tokens] = await Promise.all([createCertificateAuthority(), createTokenAuthority()]);
  const serverCertificate = await issueServerCertificate(ca, hostNames);
  const log = createRequestLog();
  const rateLimiter = createRateLimiter();
  const currentWorld = () => world;

  const setWorld = (input: unknown) => {
    world = parseWorld(input);
    rateLimiter.reset();
  };
  const updateWorld = (mutate: (draft: World) => void) => {
    const draft = structuredClone(world);
    mutate(draft);
    world = parseWorld(draft);
  };
  const setFaults = (input: unknown) => {
    const faults = parseFaults(input);
    updateWorld((draft) => {
      draft.faults = faults;
    });
  };
  const control = {
    world: () => structuredClone(world),
    setWorld,
    setFaults,
    requests: (filter?: RequestFilter) => log.list(filter),
    clearRequests: () => log.clear(),
  };

  const server = createEmulatorServer({
    certPem: serverCertificate.certPem,
    keyPem: serverCertificate.keyPem,
    world: currentWorld,
    log,
    services: {
      entra: createEntra({ world: currentWorld, tokens }),
      openai: createOpenAi({ world: currentWorld, tokens, rateLimiter }),
      arm: createArm({ world: currentWorld, tokens }),
      admin: createAdmin(control),
    },
  });
  const port = await server.listen(options.port ?? 0);
  const caDir = await mkdtemp(join(tmpdir(), 'azure-emulator-'));
  const caPath = join(caDir, 'ca.pem');
  await writeFile(caPath, ca.certPem);

  return {
    url: `https://127.0.0.1:${port}`,
    port,
    caPem: ca.certPem,
    caPath,
    connectTo: `::127.0.0.1:${port}`,
    hostNames,
    ...control,
    setWorld,
    updateWorld,
    setFaults,
    revokeRole(resource, principalId, roleName) {
      updateWorld((draft) => {
        const target = findResource(draft, resource);
        const before = target.roleAssignments.length;
        target.roleAssignments = target.roleAssignments.filter(
          (a) => !(a.principalId === principalId && a.roleName === roleName),
        );
        if (target.roleAssignments.length === before) {
          throw new Error(`${resource} has no role assignment '${roleName}' for ${principalId}`);
        }
      });
    },
    deleteDeployment(resource, name) {
      updateWorld((draft) => {
        const target = findResource(draft, resource);
        if (!target.deployments.some((d) => d.name === name)) {
          throw new Error(`${resource} has no deployment ${name}`);
        }
        target.deployments = target.deployments.filter((d) => d.name !== name);
      });
    },
    withdrawConsent(appId, tenantId) {
      updateWorld((draft) => {
        const app = draft.apps.find((a) => a.appId === appId);
        if (app === undefined || !app.consents.some((c) => c.tenantId === tenantId)) {
          throw new Error(`app ${appId} has no consent in tenant ${tenantId}`);
        }
        app.consents = app.consents.filter((c) => c.tenantId !== tenantId);
      });
    },
    mintAccessToken(mint) {
      const objectId = mint.objectId ?? servicePrincipalObjectId(world, mint.appId, mint.tenantId);
      if (objectId === undefined) {
        throw new Error(`app ${mint.appId} has no service principal in tenant ${mint.tenantId}`);
      }
      return tokens.mint({
        tenantId: mint.tenantId,
        appId: mint.appId,
        objectId,
        audience: mint.audience,
        lifetimeSeconds: mint.lifetimeSeconds ?? world.tokenLifetimeSeconds,
        offsetSeconds: mint.offsetSeconds ?? 0,
      }).token;
    },
    servicePrincipalObjectId: (appId, tenantId) => servicePrincipalObjectId(world, appId, tenantId),
    async close() {
      await server.close();
      await rm(caDir, { recursive: true, force: true });
    },
  };
}

function findResource(world: World, name: string): Resource {
  const matches = world.resources.filter((r) => r.name === name);
  const [resource] = matches;
  if (resource === undefined) throw new Error(`no resource named ${name}`);
  if (matches.length > 1) {
    throw new Error(
      `resource name ${name} exists in clouds ${matches.map((r) => r.cloud).join(', ')}`,
    );
  }
  return resource;
}
