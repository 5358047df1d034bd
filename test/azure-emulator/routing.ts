// Which emulated service a request is for, from its Host header (the real
// Azure name the client connected to) and path. Also what faults match on.
import {
  type Cloud,
  cloudOfAuthorityHost,
  cloudOfManagementHost,
  parseDataPlaneHost,
} from './clouds.ts';

export type EntraRoute = {
  service: 'entra';
  cloud: Cloud;
  tenant: string | undefined;
  rest: string;
};
export type OpenAiRoute = {
  service: 'openai';
  cloud: Cloud;
  resourceName: string;
  operation: 'chat' | 'embeddings' | 'models' | 'unknown';
  deployment: string | undefined;
};
export type ArmRoute = {
  service: 'arm';
  cloud: Cloud;
  target: ArmTarget | undefined;
};
export type ArmTarget = {
  subscriptionId: string;
  resourceGroup: string;
  accountName: string;
  // undefined: the account; '': the deployments list; otherwise one deployment.
  deployment: string | undefined;
};
export type Route =
  | EntraRoute
  | OpenAiRoute
  | ArmRoute
  | { service: 'admin' }
  | { service: 'unknown' };

const adminHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function hostWithoutPort(hostHeader: string): string {
  return hostHeader.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
}

export function routeRequest(host: string, path: string): Route {
  if (adminHosts.has(host)) return { service: 'admin' };

  const authorityCloud = cloudOfAuthorityHost(host);
  if (authorityCloud !== undefined) {
    const match = /^\/([^/]+)(\/.*)?$/.exec(path);
    return {
      service: 'entra',
      cloud: authorityCloud,
      tenant: match?.[1] === undefined ? undefined : decodeURIComponent(match[1]),
      rest: match?.[2] ?? '',
    };
  }

  const dataPlane = parseDataPlaneHost(host);
  if (dataPlane !== undefined) {
    return {
      service: 'openai',
      cloud: dataPlane.cloud,
      resourceName: dataPlane.resourceName,
      ...openAiOperation(path),
    };
  }

  const managementCloud = cloudOfManagementHost(host);
  if (managementCloud !== undefined) {
    return { service: 'arm', cloud: managementCloud, target: armTarget(path) };
  }

  return { service: 'unknown' };
}

function openAiOperation(path: string): Pick<OpenAiRoute, 'operation' | 'deployment'> {
  if (/^\/openai\/models\/?$/.test(path)) return { operation: 'models', deployment: undefined };
  const match = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)\/?$/.exec(path);
  if (match?.[1] === undefined) return { operation: 'unknown', deployment: undefined };
  return {
    operation: match[2] === 'embeddings' ? 'embeddings' : 'chat',
    deployment: decodeURIComponent(match[1]),
  };
}

// ARM paths are case-insensitive in everything but the names.
const armAccountPath =
  /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.cognitiveservices\/accounts\/([^/]+)(?:\/(deployments)(?:\/([^/]+))?)?\/?$/i;

function armTarget(path: string): ArmTarget | undefined {
  const match = armAccountPath.exec(path);
  if (match === null) return undefined;
  const [, subscriptionId, resourceGroup, accountName, deployments, deployment] = match;
  if (subscriptionId === undefined || resourceGroup === undefined || accountName === undefined) {
    return undefined;
  }
  return {
    subscriptionId: decodeURIComponent(subscriptionId),
    resourceGroup: decodeURIComponent(resourceGroup),
    accountName: decodeURIComponent(accountName),
    deployment:
      deployments === undefined
        ? undefined
        : deployment === undefined
          ? ''
          : decodeURIComponent(deployment),
  };
}
