// Gather: prove the trust chain link by link (spec, identity, token, endpoint,
// deployments). Each step either adds to the observation or stops the chain with
// the link that failed; nothing here writes to Kubernetes.
import type { HttpClient } from '@azure/core-rest-pipeline';
import type { IntegrationSpec } from '../api/integration.ts';
import { integrationSpecSchema } from '../api/integration.ts';
import { type ChainLink, ValidationFailure } from '../api/reasons.ts';
import type { TenantCircuitBreaker } from '../azure/circuit-breaker.ts';
import { buildCredential, type CredentialCache, type SecretReader } from '../azure/credentials.ts';
import type { DataPlaneClient } from '../azure/data-plane.ts';
import { classifyTokenError, type FailureContext } from '../azure/errors.ts';
import type { TokenCache } from '../azure/token-cache.ts';
import { checkClaims, readClaims } from '../azure/token-claims.ts';
import type { Observation } from './evaluate.ts';
import { type IdentityLookup, resolveIdentity } from './identity.ts';

export interface ObserveDeps {
  lookup: IdentityLookup;
  readSecret: SecretReader;
  credentials: CredentialCache;
  httpClient: HttpClient;
  tokens: TokenCache;
  dataPlane: DataPlaneClient;
  egressIps: readonly string[];
  minProbeIntervalMs: number;
  breaker?: TenantCircuitBreaker;
  now: () => Date;
}

export interface Observed {
  observation: Observation;
  spec?: IntegrationSpec;
}

export async function observe(
  integration: { namespace: string; generation: number; spec: unknown },
  deps: ObserveDeps,
): Promise<Observed> {
  const base = {
    generation: integration.generation,
    now: deps.now(),
    deployments: [],
    declaredDeployments: [] as string[],
  };
  const fail = (
    link: ChainLink,
    failure: ValidationFailure,
    rest: Partial<Observation> = {},
  ): Observed => ({
    observation: {
      ...base,
      intervalMs: deps.minProbeIntervalMs,
      ...rest,
      chainFailure: { link, failure },
    },
  });

  // Spec: what CEL admitted, re-checked; a bad spec stops everything until it is edited.
  const parsed = integrationSpecSchema.safeParse(integration.spec);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `spec.${i.path.join('.')}: ${i.message}`)
      .join('; ');
    const reason = parsed.error.issues.some((i) => i.path[0] === 'endpoint')
      ? 'EndpointNotAllowed'
      : 'InvalidSpec';
    return fail('TokenIssued', new ValidationFailure(reason, `The spec is invalid: ${problems}`));
  }
  const spec = parsed.data;
  const intervalMs = Math.max(spec.intervalMs, deps.minProbeIntervalMs);
  const declaredDeployments = spec.deployments.map((d) => d.name);
  const known = { declaredDeployments, intervalMs, cloud: spec.endpoint.cloud.name };

  // Identity: which platform app signs in, and whether this namespace may make it.
  let identity: ReturnType<typeof resolveIdentity>;
  try {
    identity = resolveIdentity(integration.namespace, spec, deps.lookup);
  } catch (error) {
    return { ...fail('TokenIssued', asFailure(error), known), spec };
  }
  const ctx: FailureContext = {
    tenantId: spec.tenantId,
    clientId: identity.spec.clientId,
    cloud: spec.endpoint.cloud,
    egressIps: deps.egressIps,
    host: spec.endpoint.host,
  };
  const identityFacts = { name: identity.name, clientId: identity.spec.clientId };

  // Token, endpoint, deployments. A token from the cache may predate a revocation
  // (role removed, consent withdrawn): an authorization failure seen with it is
  // proven once more with a fresh token before it is reported.
  let credentialKey = '';
  const attempt = async (): Promise<{
    observed: Observed;
    cachedToken: boolean;
    calledAzure?: boolean;
  }> => {
    // Credential: one instance per identity material and tenant, from the cache.
    let credential: Awaited<ReturnType<typeof buildCredential>>['credential'];
    try {
      ({ credential, fingerprint: credentialKey } = await buildCredential(
        identity,
        spec.tenantId,
        spec.endpoint.cloud,
        deps.readSecret,
        deps.httpClient,
        deps.credentials,
      ));
    } catch (error) {
      const observed = fail('TokenIssued', asFailure(error), { ...known, identity: identityFacts });
      return { observed: { ...observed, spec }, cachedToken: false };
    }
    // A tenant that keeps failing is not called again until its cool-down is over.
    const paused = deps.breaker?.admit(spec.tenantId);
    if (paused) {
      const observed = fail(paused.link, paused.failure, { ...known, identity: identityFacts });
      return { observed: { ...observed, spec }, cachedToken: false };
    }
    // Token: issued by the customer's tenant for the cloud's data-plane audience.
    let token: string;
    let cachedToken = false;
    let identityObserved: NonNullable<Observation['identity']>;
    try {
      const issued = await deps.tokens
        .getToken(credentialKey, spec.endpoint.cloud.dataPlaneScope, credential)
        .catch((error: unknown) => {
          throw classifyTokenError(error, ctx);
        });
      const claims = readClaims(issued.accessToken.token);
      checkClaims(claims, {
        tenantId: spec.tenantId,
        cloud: spec.endpoint.cloud,
        now: deps.now().getTime(),
      });
      token = issued.accessToken.token;
      cachedToken = issued.cached;
      identityObserved = {
        ...identityFacts,
        objectId: claims.oid,
        tokenExpiresAt: new Date(issued.accessToken.expiresOnTimestamp).toISOString(),
      };
    } catch (error) {
      return {
        observed: {
          ...fail('TokenIssued', asFailure(error), { ...known, identity: identityFacts }),
          spec,
        },
        cachedToken,
        calledAzure: true,
      };
    }
    const probeCtx = { ...ctx, objectId: identityObserved.objectId };

    // Endpoint: reachable over the platform's network, and accepting this token.
    try {
      await deps.dataPlane.probeEndpoint(spec.endpoint, spec.apiVersion, token, probeCtx);
    } catch (error) {
      return {
        observed: {
          ...fail('EndpointReachable', asFailure(error), { ...known, identity: identityObserved }),
          spec,
        },
        cachedToken,
        calledAzure: true,
      };
    }

    // Deployments: each one usable by this principal, probed side by side.
    const deployments = await Promise.all(
      declaredDeployments.map(async (name) => {
        try {
          return {
            name,
            probe: await deps.dataPlane.probeDeployment(
              spec.endpoint,
              name,
              spec.apiVersion,
              token,
              spec.probe.strategy,
              probeCtx,
            ),
          };
        } catch (error) {
          return { name, probe: { ready: false, failure: asFailure(error), latencyMs: 0 } };
        }
      }),
    );
    return {
      observed: {
        observation: { ...base, ...known, identity: identityObserved, deployments },
        spec,
      },
      cachedToken,
      calledAzure: true,
    };
  };
  const attemptAndRecord = async () => {
    const result = await attempt();
    if (result.calledAzure && deps.breaker)
      recordTenantHealth(deps.breaker, spec.tenantId, result.observed.observation);
    return result;
  };

  const first = await attemptAndRecord();
  if (!first.cachedToken || !hasAuthorizationFailure(first.observed.observation))
    return first.observed;
  // A fresh token needs a fresh credential too: MSAL caches tokens inside each instance.
  deps.tokens.forget(credentialKey);
  deps.credentials.forget(credentialKey);
  return (await attemptAndRecord()).observed;
}

// Weather counts against the tenant; any definitive answer from Azure, good or bad, proves it responsive.
function recordTenantHealth(
  breaker: TenantCircuitBreaker,
  tenantId: string,
  observation: Observation,
): void {
  const chain = observation.chainFailure;
  if (chain) {
    if (chain.failure.transient) breaker.failed(tenantId, chain.link, chain.failure);
    else breaker.succeeded(tenantId);
    return;
  }
  const failures = observation.deployments.map((d) => d.probe.failure);
  const first = failures[0];
  if (first?.transient && failures.every((f) => f?.transient))
    breaker.failed(tenantId, 'DeploymentsReady', first);
  else breaker.succeeded(tenantId);
}

const authorizationReasons = new Set(['RoleMissing', 'TokenRejected', 'TenantMismatch']);

function hasAuthorizationFailure(observation: Observation): boolean {
  const chain = observation.chainFailure?.failure.reason;
  return (
    (chain !== undefined && authorizationReasons.has(chain)) ||
    observation.deployments.some(
      (d) => d.probe.failure && authorizationReasons.has(d.probe.failure.reason),
    )
  );
}

function asFailure(error: unknown): ValidationFailure {
  if (error instanceof ValidationFailure) return error;
  return new ValidationFailure(
    'AuthenticationFailed',
    `Unexpected error: ${(error as Error)?.message ?? String(error)}`,
    { cause: error },
  );
}
