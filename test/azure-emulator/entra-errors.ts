// Entra ID error bodies exactly as the token endpoint sends them
// (AZURE-FACTS.md "Entra ID"): the AADSTS code is in error_description and
// error_codes, the OAuth error in `error`.
import { randomUUID } from 'node:crypto';
import type { Reply } from './reply.ts';

export type AadstsError = {
  code: number;
  status: number;
  error: string;
  text: string;
  suberror?: string;
};

export function aadstsReply(host: string, failure: AadstsError, correlationId?: string): Reply {
  const traceId = randomUUID();
  const correlation = correlationId ?? randomUUID();
  const timestamp = entraTimestamp(new Date());
  return {
    status: failure.status,
    headers: { 'x-ms-request-id': traceId, 'client-request-id': correlation },
    outcome: `AADSTS${failure.code}`,
    body: {
      error: failure.error,
      error_description: `AADSTS${failure.code}: ${failure.text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlation}\r\nTimestamp: ${timestamp}`,
      error_codes: [failure.code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlation,
      error_uri: `https://${host}/error?code=${failure.code}`,
      ...(failure.suberror === undefined ? {} : { suberror: failure.suberror }),
    },
  };
}

// "2024-06-04 11:40:28Z", Entra's own timestamp format.
function entraTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

const federationDocs = 'https://learn.microsoft.com/entra/workload-id/workload-identity-federation';

export const aadsts = {
  tenantNotFound: (tenant: string): AadstsError => ({
    code: 90002,
    status: 400,
    error: 'invalid_tenant',
    text: `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  }),
  appNotInDirectory: (appId: string, tenantName: string): AadstsError => ({
    code: 700016,
    status: 400,
    error: 'unauthorized_client',
    text: `Application with identifier '${appId}' was not found in the directory '${tenantName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  }),
  invalidSecret: (appId: string): AadstsError => ({
    code: 7000215,
    status: 401,
    error: 'invalid_client',
    text: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${appId}'.`,
  }),
  secretExpired: (appId: string): AadstsError => ({
    code: 7000222,
    status: 401,
    error: 'invalid_client',
    text: `The provided client secret keys for app '${appId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
  }),
  invalidCertificateAssertion: (reason: string): AadstsError => ({
    code: 700027,
    status: 401,
    error: 'invalid_client',
    text: `Client assertion failed signature validation. [Reason - ${reason}] Please visit the Azure Portal, Azure CLI, or PowerShell to find the apps registered with the certificate.`,
  }),
  assertionOutsideValidTime: (validFrom: Date, expiresAt: Date): AadstsError => ({
    code: 700024,
    status: 401,
    error: 'invalid_client',
    text: `Client assertion is not within its valid time range. Current time: ${new Date().toISOString()}, assertion valid from ${validFrom.toISOString()}, expiry time of assertion ${expiresAt.toISOString()}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
  }),
  noFederatedRecord: (issuer: string, subject: string, audience: string): AadstsError => ({
    code: 70021,
    status: 400,
    error: 'invalid_request',
    text: `No matching federated identity record found for presented assertion. Assertion Issuer: '${issuer}'. Assertion Subject: '${subject}'. Assertion Audience: '${audience}'. ${federationDocs}`,
  }),
  noFederatedRecordForSubject: (subject: string): AadstsError => ({
    code: 700213,
    status: 401,
    error: 'invalid_client',
    text: `No matching federated identity record found for presented assertion subject '${subject}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${federationDocs}`,
  }),
  noFederatedRecordForAudience: (audience: string): AadstsError => ({
    code: 700212,
    status: 401,
    error: 'invalid_client',
    text: `No matching federated identity record found for presented assertion audience '${audience}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${federationDocs}`,
  }),
  malformedAssertion: (): AadstsError => ({
    code: 50027,
    status: 400,
    error: 'invalid_request',
    text: 'JWT token is invalid or malformed.',
  }),
  conditionalAccessBlocked: (): AadstsError => ({
    code: 53003,
    status: 400,
    // Seen in the wild for blocked sign-ins; unconfirmed for client credentials (AZURE-FACTS.md).
    error: 'interaction_required',
    suberror: 'message_only',
    text: 'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.',
  }),
  missingParameter: (name: string): AadstsError => ({
    code: 900144,
    status: 400,
    error: 'invalid_request',
    text: `The request body must contain the following parameter: '${name}'.`,
  }),
  missingCredential: (): AadstsError => ({
    code: 7000218,
    status: 401,
    error: 'invalid_client',
    text: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  }),
  unsupportedGrantType: (grantType: string): AadstsError => ({
    code: 70003,
    status: 400,
    error: 'unsupported_grant_type',
    text: `The app requested an unsupported grant type '${grantType}'.`,
  }),
  scopeNotDefault: (scope: string): AadstsError => ({
    code: 1002012,
    status: 400,
    error: 'invalid_scope',
    text: `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  }),
  resourceNotFound: (resource: string, tenantName: string): AadstsError => ({
    code: 500011,
    status: 400,
    error: 'invalid_resource',
    text: `The resource principal named ${resource} was not found in the tenant named ${tenantName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
  }),
};
