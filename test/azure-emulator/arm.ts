// ARM for Microsoft.CognitiveServices accounts and their deployments, as
// @azure/arm-cognitiveservices reads them: a management-plane token for the
// subscription's tenant, an api-version, then a read role on the account.
import type { TokenAuthority } from './access-tokens.ts';
import { audienceMatches, openAiEndpoint } from './clouds.ts';
import { jsonReply, type LogNote, type Reply, type ServiceRequest } from './reply.ts';
import { hasArmRead } from './roles.ts';
import type { ArmRoute, ArmTarget } from './routing.ts';
import { type Deployment, type Resource, servicePrincipalExists, type World } from './world.ts';

export type ArmDependencies = { world: () => World; tokens: TokenAuthority };

export function createArm(deps: ArmDependencies) {
  return function handleArm(request: ServiceRequest, route: ArmRoute, note: LogNote): Reply {
    const world = deps.world();
    const target = route.target;
    if (target !== undefined) {
      note({
        resource: target.accountName,
        ...(target.deployment ? { deployment: target.deployment } : {}),
      });
    }
    const loginHost = `https://${route.cloud.authorityHost}`;

    if (request.bearerToken === undefined) {
      return armError(
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is missing.",
        {
          'www-authenticate': `Bearer authorization_uri="${loginHost}/", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`,
        },
      );
    }
    const token = deps.tokens.check(request.bearerToken);
    if (!token.ok) {
      return token.problem === 'expired'
        ? armError(
            401,
            'ExpiredAuthenticationToken',
            `The access token expiry UTC time is earlier than current UTC time '${new Date().toISOString()}'.`,
          )
        : armError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    }
    const claims = token.claims;
    if (!route.cloud.managementAudiences.some((aud) => audienceMatches(claims.aud, aud))) {
      return armError(
        401,
        'InvalidAuthenticationToken',
        `The access token has been obtained for wrong audience or resource '${claims.aud}'. It should exactly match with one of the allowed audiences ${route.cloud.managementAudiences
          .flatMap((aud) => [`'${aud}'`, `'${aud.replace(/\/$/, '')}'`])
          .join(',')}.`,
      );
    }

    if (target === undefined || request.method !== 'GET') {
      return armError(
        404,
        'NotFound',
        `The requested path '${request.url.pathname}' is not served by the emulator.`,
      );
    }
    const inSubscription = world.resources.filter(
      (r) => r.cloud === route.cloud.name && sameId(r.subscriptionId, target.subscriptionId),
    );
    const subscriptionTenant = inSubscription[0]?.tenantId;
    if (subscriptionTenant === undefined) {
      return armError(
        404,
        'SubscriptionNotFound',
        `The subscription '${target.subscriptionId}' could not be found.`,
      );
    }
    note({ tenantId: subscriptionTenant });
    if (claims.tid !== subscriptionTenant) {
      return armError(
        401,
        'InvalidAuthenticationTokenTenant',
        `The access token is from the wrong issuer 'https://sts.windows.net/${claims.tid}/'. It must match the tenant 'https://sts.windows.net/${subscriptionTenant}/' associated with this subscription. Please use the authority (URL) '${loginHost}/${subscriptionTenant}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.`,
      );
    }

    const apiVersion = request.url.searchParams.get('api-version');
    if (apiVersion === null || apiVersion === '') {
      return armError(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
    }

    const inGroup = inSubscription.filter((r) => sameId(r.resourceGroup, target.resourceGroup));
    if (inGroup.length === 0) {
      return armError(
        404,
        'ResourceGroupNotFound',
        `Resource group '${target.resourceGroup}' could not be found.`,
      );
    }
    const resource = inGroup.find((r) => sameId(r.name, target.accountName));
    if (resource === undefined) {
      return armError(
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.CognitiveServices/accounts/${target.accountName}' under resource group '${target.resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
      );
    }

    const action =
      target.deployment === undefined
        ? 'Microsoft.CognitiveServices/accounts/read'
        : 'Microsoft.CognitiveServices/accounts/deployments/read';
    const scope =
      target.deployment === undefined
        ? accountId(resource)
        : `${accountId(resource)}/deployments${target.deployment === '' ? '' : `/${target.deployment}`}`;
    if (
      !servicePrincipalExists(world, claims.oid) ||
      !hasArmRead(resource.roleAssignments, claims.oid)
    ) {
      return armError(
        403,
        'AuthorizationFailed',
        `The client '${claims.appid}' with object id '${claims.oid}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      );
    }

    return readAccount(resource, target);
  };
}

function readAccount(resource: Resource, target: ArmTarget): Reply {
  if (target.deployment === undefined)
    return jsonReply(200, accountBody(resource), 'ok', armHeaders());
  if (target.deployment === '') {
    return jsonReply(
      200,
      { value: resource.deployments.map((d) => deploymentBody(resource, d)) },
      'ok',
      armHeaders(),
    );
  }
  const deployment = resource.deployments.find((d) => d.name === target.deployment);
  if (deployment === undefined) {
    return armError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.CognitiveServices/accounts/${resource.name}/deployments/${target.deployment}' under resource group '${resource.resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
  }
  return jsonReply(200, deploymentBody(resource, deployment), 'ok', armHeaders());
}

function accountId(resource: Resource): string {
  return `/subscriptions/${resource.subscriptionId}/resourceGroups/${resource.resourceGroup}/providers/Microsoft.CognitiveServices/accounts/${resource.name}`;
}

function accountBody(resource: Resource) {
  const id = accountId(resource);
  const network = resource.network;
  return {
    id,
    name: resource.name,
    type: 'Microsoft.CognitiveServices/accounts',
    etag: `"${Buffer.from(JSON.stringify(resource)).toString('base64url').slice(0, 32)}"`,
    location: resource.location,
    kind: 'OpenAI',
    sku: { name: 'S0' },
    tags: {},
    properties: {
      endpoint: openAiEndpoint(resource.cloud, resource.name),
      customSubDomainName: resource.name,
      provisioningState: 'Succeeded',
      publicNetworkAccess: network.publicNetworkAccess,
      networkAcls: {
        defaultAction: network.defaultAction,
        bypass: 'AzureServices',
        ipRules: network.ipRules.map((value) => ({ value })),
        virtualNetworkRules: [],
      },
      privateEndpointConnections: network.privateEndpointConnections.map((connection) => ({
        id: `${id}/privateEndpointConnections/${connection.name}`,
        name: connection.name,
        type: 'Microsoft.CognitiveServices/accounts/privateEndpointConnections',
        location: resource.location,
        properties: {
          privateEndpoint: {
            id: `/subscriptions/${resource.subscriptionId}/resourceGroups/${resource.resourceGroup}/providers/Microsoft.Network/privateEndpoints/${connection.name}`,
          },
          privateLinkServiceConnectionState: {
            status: connection.status,
            description: connection.status === 'Approved' ? 'Auto-Approved' : '',
            actionsRequired: 'None',
          },
          groupIds: ['account'],
          provisioningState: 'Succeeded',
        },
      })),
      disableLocalAuth: true,
      dateCreated: '2024-01-15T10:00:00.0000000Z',
    },
  };
}

function deploymentBody(resource: Resource, deployment: Deployment) {
  return {
    id: `${accountId(resource)}/deployments/${deployment.name}`,
    name: deployment.name,
    type: 'Microsoft.CognitiveServices/accounts/deployments',
    sku: { name: deployment.sku.name, capacity: deployment.sku.capacity },
    properties: {
      model: deployment.model,
      versionUpgradeOption: 'OnceNewDefaultVersionAvailable',
      capabilities:
        deployment.capability === 'chat' ? { chatCompletion: 'true' } : { embeddings: 'true' },
      provisioningState: deployment.provisioningState,
      rateLimits: [
        { key: 'request', renewalPeriod: 60, count: deployment.sku.capacity * 6 },
        { key: 'token', renewalPeriod: 60, count: deployment.sku.capacity * 1000 },
      ],
    },
  };
}

function armError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Reply {
  return jsonReply(status, { error: { code, message } }, code, { ...armHeaders(), ...headers });
}

function armHeaders(): Record<string, string> {
  const id = crypto.randomUUID();
  return { 'x-ms-request-id': id, 'x-ms-correlation-request-id': id };
}

function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
