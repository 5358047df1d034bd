// The Azure OpenAI data plane of one resource per host name. Checks run in
// the order Azure was observed to use (AZURE-FACTS.md): api-version, network
// rules, token, tenant, RBAC data action, deployment, rate limit, body.
import type { TokenAuthority } from './access-tokens.ts';
import { audienceMatches } from './clouds.ts';
import { checkNetworkAccess } from './network.ts';
import { openAiErrors } from './openai-errors.ts';
import {
  chatCompletion,
  chatPromptTokens,
  countTokens,
  embeddings,
  embeddingsInputs,
  modelsList,
  parseChatRequest,
  parseEmbeddingsRequest,
} from './openai-responses.ts';
import type { RateLimiter } from './rate-limit.ts';
import { jsonReply, type LogNote, type Reply, type ServiceRequest } from './reply.ts';
import { hasDataAction } from './roles.ts';
import type { OpenAiRoute } from './routing.ts';
import { type Resource, servicePrincipalExists, type World } from './world.ts';

export type OpenAiDependencies = {
  world: () => World;
  tokens: TokenAuthority;
  rateLimiter: RateLimiter;
};

// Per operation: the data action RBAC requires, and names used in messages.
const operations = {
  chat: {
    dataAction: 'Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action',
    path: 'POST /openai/deployments/{deployment-id}/chat/completions',
    quotaName: 'ChatCompletions_Create',
    unsupportedName: 'chatCompletion',
  },
  embeddings: {
    dataAction: 'Microsoft.CognitiveServices/accounts/OpenAI/deployments/embeddings/action',
    path: 'POST /openai/deployments/{deployment-id}/embeddings',
    quotaName: 'Embeddings_Create',
    unsupportedName: 'embeddings',
  },
  models: {
    dataAction: 'Microsoft.CognitiveServices/accounts/OpenAI/models/read',
    path: 'GET /openai/models',
    quotaName: 'Models_List',
    unsupportedName: 'models',
  },
} as const;

export function createOpenAi(deps: OpenAiDependencies) {
  return function handleOpenAi(request: ServiceRequest, route: OpenAiRoute, note: LogNote): Reply {
    const world = deps.world();
    note({
      resource: route.resourceName,
      ...(route.deployment === undefined ? {} : { deployment: route.deployment }),
    });
    const resource = world.resources.find(
      (r) => r.name === route.resourceName && r.cloud === route.cloud.name,
    );
    // A real unknown subdomain does not resolve; through connect-to it lands here.
    if (resource === undefined) return openAiErrors.resourceNotFound('UnknownResource');
    note({ tenantId: resource.tenantId });

    const apiVersion = request.url.searchParams.get('api-version');
    const expectedMethod = route.operation === 'models' ? 'GET' : 'POST';
    if (
      route.operation === 'unknown' ||
      request.method !== expectedMethod ||
      apiVersion === null ||
      !resource.apiVersions.includes(apiVersion)
    ) {
      return openAiErrors.resourceNotFound(
        route.operation === 'unknown' ? 'ResourceNotFound' : 'ApiVersionUnsupported',
      );
    }
    const operation = operations[route.operation];

    if (checkNetworkAccess(resource, world.caller) !== 'allowed') return openAiErrors.firewall();

    const audience = route.cloud.dataPlaneAudience;
    if (request.bearerToken === undefined)
      return openAiErrors.unauthorized(audience, 'TokenMissing');
    const token = deps.tokens.check(request.bearerToken);
    if (!token.ok) {
      return openAiErrors.unauthorized(
        audience,
        token.problem === 'expired' ? 'TokenExpired' : 'TokenInvalid',
      );
    }
    if (!audienceMatches(token.claims.aud, audience)) {
      return openAiErrors.unauthorized(audience, 'TokenAudienceMismatch');
    }
    if (token.claims.tid !== resource.tenantId)
      return openAiErrors.tenantMismatch(token.claims.tid);
    const oid = token.claims.oid;
    if (!servicePrincipalExists(world, oid) || !hasDataAction(resource.roleAssignments, oid)) {
      return openAiErrors.permissionDenied(token.claims.oid, operation.dataAction, operation.path);
    }

    if (route.operation === 'models') return jsonReply(200, modelsList(resource.deployments), 'ok');

    const deployment = resource.deployments.find(
      (d) => d.name === route.deployment && d.provisioningState === 'Succeeded',
    );
    if (deployment === undefined) return openAiErrors.deploymentNotFound();
    const wanted = route.operation === 'chat' ? 'chat' : 'embeddings';
    if (deployment.capability !== wanted) {
      return openAiErrors.operationNotSupported(operation.unsupportedName, deployment.model.name);
    }

    const body = parseJson(request.body);
    const decision = deps.rateLimiter.admit(
      `${resource.cloud}/${resource.name}/${deployment.name}`,
      deployment.sku.capacity,
      estimatedTokens(route.operation, body),
    );
    const remaining = {
      requests: decision.remainingRequests,
      tokens: decision.remainingTokens,
    };
    if (!decision.allowed) {
      return openAiErrors.rateLimited(
        operation.quotaName,
        apiVersion,
        decision.retryAfterSeconds,
        remaining,
      );
    }
    const headers = {
      'x-ratelimit-remaining-requests': String(remaining.requests),
      'x-ratelimit-remaining-tokens': String(remaining.tokens),
      'x-ms-region': regionName(resource),
    };

    if (body === undefined) {
      return openAiErrors.invalidRequest(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
      );
    }
    if (route.operation === 'chat') {
      const chat = parseChatRequest(body);
      if (!chat.ok) return openAiErrors.invalidRequest(chat.problem);
      const completion = chatCompletion(deployment, chat.request);
      note({ tokens: completion.usage.total_tokens });
      return jsonReply(200, completion, 'ok', headers);
    }
    const input = parseEmbeddingsRequest(body);
    if (!input.ok) return openAiErrors.invalidRequest(input.problem, 'input');
    const result = embeddings(deployment, input.request);
    note({ tokens: result.usage.total_tokens });
    return jsonReply(200, result, 'ok', headers);
  };
}

// What the quota check charges up front: prompt plus requested completion.
function estimatedTokens(operation: 'chat' | 'embeddings', body: unknown): number {
  if (operation === 'chat') {
    const chat = parseChatRequest(body);
    if (!chat.ok) return 0;
    const { request } = chat;
    return chatPromptTokens(request) + (request.max_completion_tokens ?? request.max_tokens ?? 0);
  }
  const input = parseEmbeddingsRequest(body);
  if (!input.ok) return 0;
  return embeddingsInputs(input.request).reduce((sum, text) => sum + countTokens(text), 0);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function regionName(resource: Resource): string {
  return resource.location.replace(/^(\w)/, (c) => c.toUpperCase());
}
