// Entra ID as @azure/identity (msal-node) uses it: OIDC discovery and keys for
// any tenant, and the client-credentials token endpoint with Entra's checks
// in Entra's order: tenant, app in the tenant, client authentication, scope,
// Conditional Access, then a real RS256 access token.
import type { TokenAuthority } from './access-tokens.ts';
import { authenticateClient } from './client-authentication.ts';
import { type CloudName, tokenResourceForScope } from './clouds.ts';
import { type AadstsError, aadsts, aadstsReply } from './entra-errors.ts';
import { jsonReply, type LogNote, type Reply, type ServiceRequest } from './reply.ts';
import type { EntraRoute } from './routing.ts';
import { servicePrincipalObjectId, type World } from './world.ts';

export type EntraDependencies = { world: () => World; tokens: TokenAuthority };

export function createEntra(deps: EntraDependencies) {
  return function handleEntra(request: ServiceRequest, route: EntraRoute, note: LogNote): Reply {
    const tenant = route.tenant;
    if (tenant !== undefined) note({ tenantId: tenant });
    const base = `https://${request.headers.host ?? request.host}/${tenant}`;

    if (tenant !== undefined && request.method === 'GET') {
      if (route.rest === '/v2.0/.well-known/openid-configuration') {
        return jsonReply(200, openIdConfiguration(base, tenant, route.cloud.name), 'ok');
      }
      if (route.rest === '/discovery/v2.0/keys' || route.rest === '/discovery/keys') {
        return jsonReply(200, deps.tokens.jwks, 'ok');
      }
    }
    if (tenant !== undefined && request.method === 'POST' && route.rest === '/oauth2/v2.0/token') {
      const form = new URLSearchParams(request.body.toString('utf8'));
      const result = issue(deps, route, tenant, form, `${base}/oauth2/v2.0/token`, note);
      return result.ok
        ? jsonReply(200, result.body, 'ok', {
            'cache-control': 'no-store, no-cache',
            pragma: 'no-cache',
          })
        : aadstsReply(
            request.host,
            result.error,
            // MSAL sends its correlation id as client-request-id; Entra echoes it.
            request.headers['client-request-id'] ??
              request.url.searchParams.get('client-request-id') ??
              form.get('client-request-id') ??
              undefined,
          );
    }
    return jsonReply(404, { error: 'not_found' }, 'NotFound');
  };
}

// The non-secret parts of a token request, for the request log.
export function tokenRequestLogFields(form: URLSearchParams) {
  const fields: { clientId?: string; grantType?: string; scope?: string } = {};
  for (const [field, name] of [
    ['clientId', 'client_id'],
    ['grantType', 'grant_type'],
    ['scope', 'scope'],
  ] as const) {
    const value = form.get(name);
    if (value !== null) fields[field] = value;
  }
  return fields;
}

// Served for any tenant, like the built-in metadata MSAL has for the real
// hosts: a bad tenant is reported by the token endpoint (AADSTS90002).
const cloudInstanceNames: Record<CloudName, string> = {
  public: 'microsoftonline.com',
  usgov: 'microsoftonline.us',
  china: 'partner.microsoftonline.cn',
};

function openIdConfiguration(base: string, tenant: string, cloud: CloudName) {
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: [
      'client_secret_post',
      'private_key_jwt',
      'client_secret_basic',
    ],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    cloud_instance_name: cloudInstanceNames[cloud],
    tenant_id: tenant,
  };
}

type TokenResponse = {
  token_type: 'Bearer';
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
};
type Issued = { ok: true; body: TokenResponse } | { ok: false; error: AadstsError };

function issue(
  deps: EntraDependencies,
  route: EntraRoute,
  tenantId: string,
  form: URLSearchParams,
  tokenUrl: string,
  note: LogNote,
): Issued {
  const world = deps.world();
  const grantType = form.get('grant_type') ?? '';
  const clientId = form.get('client_id') ?? undefined;
  const scope = form.get('scope') ?? '';
  note(tokenRequestLogFields(form));

  const fail = (error: AadstsError): Issued => ({ ok: false, error });

  const tenant = world.tenants.find((t) => t.id.toLowerCase() === tenantId.toLowerCase());
  if (tenant === undefined) return fail(aadsts.tenantNotFound(tenantId));
  if (grantType !== 'client_credentials') return fail(aadsts.unsupportedGrantType(grantType));
  if (clientId === undefined) return fail(aadsts.missingParameter('client_id'));

  const app = world.apps.find((a) => a.appId === clientId);
  const objectId =
    app === undefined ? undefined : servicePrincipalObjectId(world, app.appId, tenant.id);
  if (app === undefined || objectId === undefined) {
    return fail(aadsts.appNotInDirectory(clientId, tenant.displayName));
  }

  const auth = authenticateClient(app, {
    clientSecret: form.get('client_secret') ?? undefined,
    clientAssertion: form.get('client_assertion') ?? undefined,
    tokenUrl,
  });
  if (!auth.ok) return fail(auth.error);

  const scopes = scope.split(' ').filter((s) => s.length > 0);
  const defaultScope = scopes.find((s) => s.endsWith('/.default'));
  if (defaultScope === undefined) return fail(aadsts.scopeNotDefault(scope));
  const resource = tokenResourceForScope(route.cloud, defaultScope.slice(0, -'.default'.length));
  if (resource === undefined) {
    return fail(
      aadsts.resourceNotFound(defaultScope.slice(0, -'/.default'.length), tenant.displayName),
    );
  }

  if (tenant.conditionalAccessBlockedApps.includes(app.appId)) {
    return fail(aadsts.conditionalAccessBlocked());
  }

  const lifetime = world.tokenLifetimeSeconds;
  const { token } = deps.tokens.mint({
    tenantId: tenant.id,
    appId: app.appId,
    objectId,
    audience: resource.audience,
    lifetimeSeconds: lifetime,
    appIdAcr: auth.method === 'secret' ? '1' : '2',
  });
  return {
    ok: true,
    body: {
      token_type: 'Bearer',
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: token,
    },
  };
}
