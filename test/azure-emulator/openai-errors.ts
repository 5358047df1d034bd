// Azure OpenAI data-plane error replies with the exact shapes of
// AZURE-FACTS.md "Azure OpenAI data plane". Note the 401 token error has no
// `error` wrapper, unlike every other one.
import { jsonReply, type Reply } from './reply.ts';

export const openAiErrors = {
  resourceNotFound: (outcome: string): Reply =>
    jsonReply(404, { error: { code: '404', message: 'Resource not found' } }, outcome),
  firewall: (): Reply =>
    jsonReply(
      403,
      { error: { code: '403', message: 'Access denied due to Virtual Network/Firewall rules.' } },
      'FirewallDenied',
    ),
  unauthorized: (audience: string, outcome: string): Reply =>
    jsonReply(
      401,
      {
        statusCode: 401,
        message: `Unauthorized. Access token is missing, invalid, audience is incorrect (${audience}), or have expired.`,
      },
      outcome,
    ),
  tenantMismatch: (tokenTenant: string): Reply =>
    jsonReply(
      400,
      {
        error: {
          code: 'Tenant provided in token does not match resource token',
          message: `Token tenant ${tokenTenant} does not match resource tenant.`,
        },
      },
      'TenantMismatch',
    ),
  permissionDenied: (objectId: string, dataAction: string, operation: string): Reply =>
    jsonReply(
      401,
      {
        error: {
          code: 'PermissionDenied',
          message: `The principal \`${objectId}\` lacks the required data action \`${dataAction}\` to perform \`${operation}\` operation.`,
        },
      },
      'PermissionDenied',
    ),
  deploymentNotFound: (): Reply =>
    jsonReply(
      404,
      {
        error: {
          code: 'DeploymentNotFound',
          message:
            'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
        },
      },
      'DeploymentNotFound',
    ),
  operationNotSupported: (operation: string, model: string): Reply =>
    jsonReply(
      400,
      {
        error: {
          code: 'OperationNotSupported',
          message: `The ${operation} operation does not work with the specified model, ${model}. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.`,
        },
      },
      'OperationNotSupported',
    ),
  rateLimited: (
    operation: string,
    apiVersion: string,
    retryAfterSeconds: number,
    remaining: { requests: number; tokens: number },
  ): Reply =>
    jsonReply(
      429,
      {
        error: {
          code: '429',
          message: `Requests to the ${operation} Operation under Azure OpenAI API version ${apiVersion} have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after ${retryAfterSeconds} seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.`,
        },
      },
      'RateLimited',
      {
        'retry-after': String(retryAfterSeconds),
        'retry-after-ms': String(retryAfterSeconds * 1000),
        'x-ratelimit-remaining-requests': String(remaining.requests),
        'x-ratelimit-remaining-tokens': String(remaining.tokens),
      },
    ),
  // OpenAI-style validation error, sent before any token is spent.
  invalidRequest: (message: string, param: string | null = null): Reply =>
    jsonReply(
      400,
      { error: { message, type: 'invalid_request_error', param, code: null } },
      'InvalidRequest',
    ),
};
