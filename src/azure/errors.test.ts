import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clouds } from './clouds.ts';
import { classifyDataPlaneResponse, classifyNetworkError, classifyTokenError } from './errors.ts';

const ctx = {
  tenantId: 'f2f34c00-0d5c-4220-8d5e-210f75706894',
  clientId: '35cad0a1-6753-4059-838c-487090add575',
  cloud: clouds.AzurePublicCloud,
  egressIps: ['203.0.113.10'],
  host: 'contoso.openai.azure.com',
  objectId: '45121d90-ad42-4535-9428-24fb47b4aaf5',
};

test('AADSTS codes map to reasons whose message says what to do', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['AADSTS90002: Tenant not found.', 'TenantNotFound', /spec\.tenantId/],
    [
      'AADSTS700016: Application not found in the directory.',
      'ConsentMissing',
      /adminconsent\?client_id=35cad0a1/,
    ],
    ['AADSTS7000215: Invalid client secret provided.', 'InvalidClientSecret', /secret value/],
    [
      'AADSTS7000222: The provided client secret keys are expired.',
      'ClientSecretExpired',
      /new secret/,
    ],
    [
      'AADSTS700027: Client assertion failed signature validation.',
      'InvalidCertificate',
      /certificate/,
    ],
    [
      'AADSTS70021: No matching federated identity record found.',
      'FederatedCredentialMismatch',
      /api:\/\/AzureADTokenExchange/,
    ],
    [
      'AADSTS700213: No matching federated identity record found for presented assertion subject.',
      'FederatedCredentialMismatch',
      /subject/,
    ],
    [
      'AADSTS53003: Access has been blocked by Conditional Access policies.',
      'ConditionalAccessBlocked',
      /203\.0\.113\.10/,
    ],
    ['AADSTS50000: There was an error issuing a token.', 'AuthenticationFailed', /AADSTS50000/],
  ];
  for (const [message, reason, remedy] of cases) {
    const failure = classifyTokenError(
      new Error(`ClientSecretCredential authentication failed: ${message}`),
      ctx,
    );
    assert.equal(failure.reason, reason, message);
    assert.match(failure.message, remedy);
  }
});

test('data-plane answers map by status and body shape', () => {
  const cases: Array<[number, unknown, string | undefined]> = [
    [404, { error: { code: '404', message: 'Resource not found' } }, 'ApiVersionUnsupported'],
    [
      403,
      { error: { code: '403', message: 'Access denied due to Virtual Network/Firewall rules.' } },
      'FirewallDenied',
    ],
    [
      401,
      {
        statusCode: 401,
        message: 'Unauthorized. Access token is missing, invalid, audience is incorrect',
      },
      'TokenRejected',
    ],
    [
      400,
      {
        error: {
          code: 'Tenant provided in token does not match resource token',
          message: 'Token tenant x does not match resource tenant.',
        },
      },
      'TenantMismatch',
    ],
    [
      401,
      {
        error: {
          code: 'PermissionDenied',
          message: 'Principal does not have access to API/Operation.',
        },
      },
      'RoleMissing',
    ],
    [
      404,
      {
        error: {
          code: 'DeploymentNotFound',
          message: 'The API deployment for this resource does not exist.',
        },
      },
      'DeploymentNotFound',
    ],
    [429, 'Too Many Requests', 'Throttled'],
    [503, '', 'ServiceUnavailable'],
    [
      400,
      {
        error: {
          message: "[] is too short - 'messages'",
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      },
      undefined,
    ],
    [200, { choices: [] }, undefined],
  ];
  for (const [status, body, reason] of cases) {
    assert.equal(
      classifyDataPlaneResponse({ status, headers: {}, body }, ctx)?.reason,
      reason,
      `${status} ${JSON.stringify(body)}`,
    );
  }
});

test('Retry-After is read from seconds, milliseconds and dates', () => {
  const retry = (headers: Record<string, string>) =>
    classifyDataPlaneResponse({ status: 429, headers, body: '' }, ctx)?.retryAfterMs;
  assert.equal(retry({ 'retry-after': '7' }), 7_000);
  assert.equal(retry({ 'retry-after-ms': '250', 'retry-after': '1' }), 250);
  assert.ok((retry({ 'retry-after': new Date(Date.now() + 10_000).toUTCString() }) ?? 0) > 8_000);
});

test('socket errors found anywhere in the cause chain', () => {
  const wrapped = (code: string) =>
    new Error('fetch failed', { cause: Object.assign(new Error(code), { code }) });
  assert.equal(classifyNetworkError(wrapped('ENOTFOUND'), 'x')?.reason, 'DNSFailure');
  assert.equal(
    classifyNetworkError(wrapped('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'x')?.reason,
    'TLSFailure',
  );
  assert.equal(classifyNetworkError(wrapped('ECONNRESET'), 'x')?.reason, 'ConnectionFailed');
  assert.equal(classifyNetworkError(wrapped('UND_ERR_HEADERS_TIMEOUT'), 'x')?.reason, 'Timeout');
  assert.equal(classifyNetworkError(new Error('plain'), 'x'), undefined);
});

test('the structured MSAL cause wins over the message text', () => {
  const error = Object.assign(new Error('ClientSecretCredential authentication failed'), {
    cause: { errorNo: '700016', errorCode: 'unauthorized_client', status: 400 },
  });
  assert.equal(classifyTokenError(error, ctx).reason, 'ConsentMissing');
  const network = Object.assign(new Error('failed'), { cause: { errorCode: 'network_error' } });
  assert.equal(classifyTokenError(network, ctx).reason, 'ConnectionFailed');
  const throttled = Object.assign(new Error('failed'), {
    cause: { errorCode: 'client_error', status: 429 },
  });
  assert.equal(classifyTokenError(throttled, ctx).reason, 'Throttled');
});
