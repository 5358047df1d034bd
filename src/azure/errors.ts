// The one place that turns Azure's signals (AADSTS codes, data-plane status and
// body shapes, socket errors) into reasons with a fix in the message. Nothing
// else in the operator matches on Azure error text.
import { ValidationFailure } from '../api/reasons.ts';
import type { Cloud } from './clouds.ts';

export interface FailureContext {
  tenantId: string;
  clientId: string;
  cloud: Cloud;
  /** Platform egress IPs to name in firewall remediation. */
  egressIps: readonly string[];
  host?: string;
  objectId?: string;
  deployment?: string;
}

const consentUrl = (ctx: FailureContext) =>
  `${ctx.cloud.authorityHost}/${ctx.tenantId}/adminconsent?client_id=${ctx.clientId}`;

/**
 * Maps what @azure/identity threw while getting a token. Its own error classes carry
 * no code, but their cause is MSAL's error with `errorNo` (the AADSTS number),
 * `errorCode` and `status`; the message text is the fallback.
 */
export function classifyTokenError(error: unknown, ctx: FailureContext): ValidationFailure {
  const text =
    error instanceof Error
      ? `${error.message} ${String((error as { cause?: unknown }).cause ?? '')}`
      : String(error);
  const network = classifyNetworkError(error, ctx.cloud.authorityHost);
  if (network) return network;
  const msal = (error as { cause?: { errorNo?: unknown; errorCode?: unknown; status?: unknown } })
    ?.cause;
  const code =
    (typeof msal?.errorNo === 'string' && msal.errorNo) || text.match(/AADSTS(\d+)/)?.[1];
  const app = `the platform app ${ctx.clientId}`;
  switch (code) {
    case '90002':
      return new ValidationFailure(
        'TenantNotFound',
        `Tenant ${ctx.tenantId} does not exist in ${ctx.cloud.name} (AADSTS90002): check spec.tenantId against the customer's Entra ID directory id`,
      );
    case '700016':
      return new ValidationFailure(
        'ConsentMissing',
        `${capitalise(app)} has no service principal in tenant ${ctx.tenantId} (AADSTS700016): a customer administrator must grant admin consent at ${consentUrl(ctx)}`,
      );
    case '7000215':
      return new ValidationFailure(
        'InvalidClientSecret',
        `Entra ID rejected the client secret of ${app} (AADSTS7000215): the platform team must put the current secret value (not its id) in the AzureServicePrincipal's Secret`,
      );
    case '7000222':
      return new ValidationFailure(
        'ClientSecretExpired',
        `The client secret of ${app} has expired (AADSTS7000222): the platform team must create a new secret for the app registration and update the AzureServicePrincipal's Secret`,
      );
    case '700027':
      return new ValidationFailure(
        'InvalidCertificate',
        `Entra ID rejected the certificate assertion of ${app} (AADSTS700027): upload this certificate to the app registration, or fix the PEM in the AzureServicePrincipal's Secret`,
      );
    case '700024':
      return new ValidationFailure(
        'FederatedCredentialMismatch',
        `The operator's federated ServiceAccount token has expired (AADSTS700024): the projected token file of ${app} is not being refreshed; check the pod's projected volume`,
      );
    case '500011':
      return new ValidationFailure(
        'CloudMismatch',
        `Tenant ${ctx.tenantId} has no resource for scope ${ctx.cloud.dataPlaneScope} (AADSTS500011): the endpoint and the identity must be in the same Azure cloud`,
      );
    case '70021':
    case '700212':
    case '700213':
      return new ValidationFailure(
        'FederatedCredentialMismatch',
        `No federated credential of ${app} matches the operator's ServiceAccount token (AADSTS${code}): add one with the cluster's issuer, subject system:serviceaccount:<operator namespace>:<service account> and audience api://AzureADTokenExchange`,
      );
    case '53003':
      return new ValidationFailure(
        'ConditionalAccessBlocked',
        `A Conditional Access policy in tenant ${ctx.tenantId} blocks ${app} (AADSTS53003): the customer must exclude the platform's service principal or its egress IPs (${ips(ctx)}) from the policy`,
      );
  }
  const status =
    (typeof msal?.status === 'number' ? msal.status : undefined) ??
    (error as { statusCode?: number }).statusCode;
  if (msal?.errorCode === 'network_error') {
    return new ValidationFailure(
      'ConnectionFailed',
      `${ctx.cloud.authorityHost} could not be reached for a token; retrying`,
    );
  }
  if (status === 429 || /\b429\b|too many requests|throttl/i.test(text)) {
    return new ValidationFailure(
      'Throttled',
      `Entra ID throttled token requests for tenant ${ctx.tenantId}; retrying after the advised delay`,
      {
        retryAfterMs: retryAfterFromError(error),
      },
    );
  }
  if ((status !== undefined && status >= 500) || /\b5\d\d\b|service unavailable/i.test(text)) {
    return new ValidationFailure(
      'ServiceUnavailable',
      `Entra ID is unavailable for tenant ${ctx.tenantId}; retrying`,
    );
  }
  return new ValidationFailure(
    'AuthenticationFailed',
    `Entra ID refused a token for tenant ${ctx.tenantId}${code ? ` (AADSTS${code})` : ''}: ${firstLine(text)}`,
  );
}

export interface DataPlaneResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** Maps a data-plane answer that was not the expected one. `undefined` means it was not a failure. */
export function classifyDataPlaneResponse(
  response: DataPlaneResponse,
  ctx: FailureContext,
): ValidationFailure | undefined {
  const { status, body } = response;
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' ? error.code : undefined;
  const message = typeof error?.message === 'string' ? error.message : '';
  const host = ctx.host ?? 'the endpoint';
  const deployment = ctx.deployment ? `deployment ${ctx.deployment} of ` : '';
  if (status === 429) {
    return new ValidationFailure(
      'Throttled',
      `${capitalise(deployment)}${host} is throttling requests; retrying after the advised delay`,
      {
        retryAfterMs: retryAfterFromHeaders(response.headers),
      },
    );
  }
  if (status >= 500) {
    return new ValidationFailure('ServiceUnavailable', `${host} answered ${status}; retrying`);
  }
  if (status === 403 && /Virtual Network\/Firewall/i.test(message)) {
    return new ValidationFailure(
      'FirewallDenied',
      `${host} refused the platform's network (403 firewall): the customer must allowlist the platform egress IPs ${ips(ctx)} under Networking > Firewalls and virtual networks, or give the platform a private endpoint`,
    );
  }
  if (status === 400 && /tenant/i.test(code ?? '') && /match/i.test(`${code} ${message}`)) {
    return new ValidationFailure(
      'TenantMismatch',
      `${host} belongs to a different tenant than ${ctx.tenantId}: set spec.tenantId to the tenant of the resource (${message})`,
    );
  }
  if (status === 401 && code === 'PermissionDenied') {
    return new ValidationFailure(
      'RoleMissing',
      `The platform's service principal${ctx.objectId ? ` (object id ${ctx.objectId})` : ''} lacks the data action on ${host}: the customer must assign it the role "Cognitive Services OpenAI User" on the resource, e.g. az role assignment create --assignee-object-id ${ctx.objectId ?? '<object id>'} --assignee-principal-type ServicePrincipal --role "Cognitive Services OpenAI User" --scope <resource id>`,
    );
  }
  if (status === 401) {
    return new ValidationFailure(
      'TokenRejected',
      `${host} rejected the platform's token (401): its audience must be ${ctx.cloud.dataPlaneAudience}; check that the endpoint is in ${ctx.cloud.name}`,
    );
  }
  if (status === 404 && code === 'DeploymentNotFound') {
    return new ValidationFailure(
      'DeploymentNotFound',
      `${capitalise(deployment || 'a deployment of ')}${host} does not exist: create it in the customer's resource or remove it from spec.deployments`,
    );
  }
  if (status === 404) {
    return new ValidationFailure(
      'ApiVersionUnsupported',
      `${host} does not serve this api-version (404 Resource not found): set spec.apiVersion to a supported version such as 2024-10-21`,
    );
  }
  if (status >= 400 && status !== 400) {
    return new ValidationFailure(
      'DeploymentNotUsable',
      `${capitalise(deployment)}${host} answered ${status}: ${message || 'no detail'}`,
    );
  }
  return undefined;
}

const networkCodes: Record<string, 'DNSFailure' | 'TLSFailure' | 'Timeout' | 'ConnectionFailed'> = {
  ENOTFOUND: 'DNSFailure',
  EAI_AGAIN: 'DNSFailure',
  ETIMEDOUT: 'Timeout',
  UND_ERR_CONNECT_TIMEOUT: 'Timeout',
  UND_ERR_HEADERS_TIMEOUT: 'Timeout',
  UND_ERR_BODY_TIMEOUT: 'Timeout',
  ECONNRESET: 'ConnectionFailed',
  ECONNREFUSED: 'ConnectionFailed',
  UND_ERR_SOCKET: 'ConnectionFailed',
  EPIPE: 'ConnectionFailed',
};

/** Maps socket-level failures found anywhere in an error's cause chain. */
export function classifyNetworkError(
  error: unknown,
  target: string,
): ValidationFailure | undefined {
  for (
    let e: unknown = error, depth = 0;
    e && depth < 8;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    const name = (e as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new ValidationFailure('Timeout', `${target} did not answer in time; retrying`);
    }
    if (typeof code !== 'string') continue;
    // OpenSSL verification codes (UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED, ...) and Node's ERR_TLS_*.
    if (/CERT|SIGNATURE|TLS|SSL/.test(code)) {
      return new ValidationFailure(
        'TLSFailure',
        `The TLS certificate of ${target} could not be verified (${code}): something between the platform and Azure intercepts TLS; tokens are never sent over it`,
      );
    }
    const reason = networkCodes[code];
    if (reason === 'DNSFailure') {
      return new ValidationFailure(
        'DNSFailure',
        `${target} does not resolve (${code}): check the endpoint's resource name, or the platform's DNS for private endpoints`,
      );
    }
    if (reason)
      return new ValidationFailure(reason, `${target} could not be reached (${code}); retrying`);
  }
  return undefined;
}

function retryAfterFromHeaders(headers: DataPlaneResponse['headers']): number | undefined {
  const raw = headers['retry-after-ms'] ?? headers['retry-after'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return undefined;
  if (headers['retry-after-ms']) return Number(value) || undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function retryAfterFromError(error: unknown): number | undefined {
  const headers = (
    error as { response?: { headers?: { get?: (n: string) => string | undefined } } }
  ).response?.headers;
  const value = headers?.get?.('retry-after');
  return value ? retryAfterFromHeaders({ 'retry-after': value }) : undefined;
}

const ips = (ctx: FailureContext) =>
  ctx.egressIps.length > 0
    ? ctx.egressIps.join(', ')
    : '(set PLATFORM_EGRESS_IPS on the operator to name them here)';
const capitalise = (s: string) => (s ? s[0]?.toUpperCase() + s.slice(1) : s);
const firstLine = (s: string) => s.split('\n')[0]?.slice(0, 300) ?? '';
