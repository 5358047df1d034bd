// Gather: prove the trust chain link by link (spec, identity, token, endpoint,
// deployments). Each step either adds to the observation or stops the chain with
// the link that failed; nothing here writes to Kubernetes.
import type { HttpClient } from '@azure/core-rest-pipeline';
import type { IntegrationSpec } from '../api/integration.ts';
import { integrationSpecSchema } from '../api/integration.ts';
import { type ChainLink, type FailureReason, ValidationFailure } from '../api/reasons.ts';
import type { CircuitBreaker, PausedCall } from '../azure/circuit-breaker.ts';
import { buildCredential, type CredentialCache, type SecretReader } from '../azure/credentials.ts';
import { type DataPlaneClient, Superseded } from '../azure/data-plane.ts';
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
  breaker?: CircuitBreaker;
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
  // Circuits: the tenant's sign-in and the endpoint host (src/azure/circuit-breaker.ts).
  const signIn = `Entra ID of tenant ${spec.tenantId}`;
  const host = spec.endpoint.host;
  const attempt = async (): Promise<{ observed: Observed; cachedToken: boolean }> => {
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
    // Token: issued by the customer's tenant for the cloud's data-plane audience.
    let token: string;
    let cachedToken = false;
    let identityObserved: NonNullable<Observation['identity']>;
    try {
      const issued = await deps.tokens
        .getToken(credentialKey, spec.endpoint.cloud.dataPlaneScope, credential, {
          beforeRequest: () => {
            const paused = deps.breaker?.admit(signIn);
            if (paused) throw new Paused(paused);
          },
          // Once per request: the integrations that shared it must not each count
          // its failure, or one hung request would open the tenant's circuit.
          onFailure: (error) =>
            record(deps.breaker, signIn, 'TokenIssued', classifyTokenError(error, ctx)),
        })
        .catch((error: unknown) => {
          if (error instanceof Paused) throw error;
          throw classifyTokenError(error, ctx);
        });
      const claims = readClaims(issued.accessToken.token);
      checkClaims(claims, {
        tenantId: spec.tenantId,
        cloud: spec.endpoint.cloud,
        now: deps.now().getTime(),
      });
      if (!issued.cached) deps.breaker?.succeeded(signIn);
      token = issued.accessToken.token;
      cachedToken = issued.cached;
      identityObserved = {
        ...identityFacts,
        objectId: claims.oid,
        tokenExpiresAt: new Date(issued.accessToken.expiresOnTimestamp).toISOString(),
      };
    } catch (error) {
      const { link, failure } =
        error instanceof Paused
          ? error.call
          : { link: 'TokenIssued' as const, failure: asFailure(error) };
      return {
        observed: { ...fail(link, failure, { ...known, identity: identityFacts }), spec },
        cachedToken,
      };
    }
    const probeCtx = { ...ctx, objectId: identityObserved.objectId };
    const paused = deps.breaker?.admit(host);
    // This reconcile is the endpoint's trial if admitting it started one.
    const trial = !paused && deps.breaker?.inTrial(host) === true;
    if (paused) {
      return {
        observed: {
          ...fail(paused.link, paused.failure, { ...known, identity: identityObserved }),
          spec,
        },
        cachedToken,
      };
    }

    // Endpoint and deployments (ADR 0004). No call of its own proves the endpoint: a
    // deployment probe passes the same network, token and tenant checks first, so the
    // first deployment goes alone, and a failure of those checks is the endpoint's.
    // Any other answer proves the endpoint, and the rest are sent together (the
    // data-plane client takes them one at a time per host, src/azure/host-queue.ts).
    const probe = async (name: string) => {
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
        // Newer work for this integration runs next: nothing of this run is recorded,
        // and a trial it was making is handed to the next call.
        if (error instanceof Superseded) {
          if (trial) deps.breaker?.abandonTrial(host);
          throw error;
        }
        return { name, probe: { ready: false, failure: asFailure(error), latencyMs: 0 } };
      }
    };
    const endpointFailed = (failure: ValidationFailure) => {
      record(deps.breaker, host, 'EndpointReachable', failure);
      return {
        observed: {
          ...fail('EndpointReachable', failure, { ...known, identity: identityObserved }),
          spec,
        },
        cachedToken,
      };
    };
    const [firstName = '', ...otherNames] = declaredDeployments;
    const first = await probe(firstName);
    if (first.probe.failure && endpointReasons.has(first.probe.failure.reason))
      return endpointFailed(first.probe.failure);
    const deployments = [first, ...(await Promise.all(otherNames.map(probe)))];
    // Weather on every call is the endpoint's (a throttled or failing resource).
    const failures = deployments.map((d) => d.probe.failure);
    const weather = failures.every((f) => f?.transient) ? failures[0] : undefined;
    if (weather) return endpointFailed(weather);
    deps.breaker?.succeeded(host);
    return {
      observed: {
        observation: { ...base, ...known, identity: identityObserved, deployments },
        spec,
      },
      cachedToken,
    };
  };

  const first = await attempt();
  if (!first.cachedToken || !hasAuthorizationFailure(first.observed.observation))
    return first.observed;
  // A fresh token needs a fresh credential too: MSAL caches tokens inside each instance.
  deps.tokens.forget(credentialKey);
  deps.credentials.forget(credentialKey);
  return (await attempt()).observed;
}

class Paused extends Error {
  readonly call: PausedCall;
  constructor(call: PausedCall) {
    super(call.failure.message);
    this.call = call;
  }
}

// Weather counts against a circuit; any definitive answer, good or bad, proves the target responsive.
function record(
  breaker: CircuitBreaker | undefined,
  target: string,
  link: ChainLink,
  failure: ValidationFailure,
): void {
  if (failure.transient) breaker?.failed(target, link, failure);
  else breaker?.succeeded(target);
}

const authorizationReasons = new Set(['RoleMissing', 'TokenRejected', 'TenantMismatch']);

// What the endpoint refuses before any deployment is looked at: the network path,
// the token, the tenant and the api-version.
const endpointReasons = new Set<FailureReason>([
  'DNSFailure',
  'TLSFailure',
  'ConnectionFailed',
  'Timeout',
  'FirewallDenied',
  'TokenRejected',
  'TenantMismatch',
  'ApiVersionUnsupported',
  'EndpointNotAllowed',
]);

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
