// The three Azure clouds and the one rule that decides where a token may go: an
// https endpoint whose host is one DNS label plus an OpenAI suffix of its cloud.
import { isIP } from 'node:net';

export type CloudName = 'AzurePublicCloud' | 'AzureUSGovernment' | 'AzureChinaCloud';

export interface Cloud {
  name: CloudName;
  authorityHost: string;
  openAIHostSuffixes: readonly string[];
  dataPlaneScope: string;
  dataPlaneAudience: string;
  armEndpoint: string;
  armScope: string;
}

export const clouds: Record<CloudName, Cloud> = {
  AzurePublicCloud: {
    name: 'AzurePublicCloud',
    authorityHost: 'https://login.microsoftonline.com',
    openAIHostSuffixes: ['.openai.azure.com', '.cognitiveservices.azure.com'],
    dataPlaneScope: 'https://cognitiveservices.azure.com/.default',
    dataPlaneAudience: 'https://cognitiveservices.azure.com',
    armEndpoint: 'https://management.azure.com',
    armScope: 'https://management.azure.com/.default',
  },
  AzureUSGovernment: {
    name: 'AzureUSGovernment',
    authorityHost: 'https://login.microsoftonline.us',
    openAIHostSuffixes: ['.openai.azure.us', '.cognitiveservices.azure.us'],
    dataPlaneScope: 'https://cognitiveservices.azure.us/.default',
    dataPlaneAudience: 'https://cognitiveservices.azure.us',
    armEndpoint: 'https://management.usgovcloudapi.net',
    armScope: 'https://management.usgovcloudapi.net/.default',
  },
  AzureChinaCloud: {
    name: 'AzureChinaCloud',
    authorityHost: 'https://login.chinacloudapi.cn',
    openAIHostSuffixes: ['.openai.azure.cn', '.cognitiveservices.azure.cn'],
    dataPlaneScope: 'https://cognitiveservices.azure.cn/.default',
    dataPlaneAudience: 'https://cognitiveservices.azure.cn',
    armEndpoint: 'https://management.chinacloudapi.cn',
    armScope: 'https://management.chinacloudapi.cn/.default',
  },
};

export interface OpenAIEndpoint {
  /** Normalised, always `https://<host>/`. */
  url: string;
  host: string;
  resourceName: string;
  cloud: Cloud;
}

export class EndpointNotAllowedError extends Error {
  override name = 'EndpointNotAllowedError';
}

const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Parses an Azure OpenAI endpoint, refusing anything a token must not be sent to. */
export function parseOpenAIEndpoint(endpoint: string): OpenAIEndpoint {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new EndpointNotAllowedError(`endpoint ${JSON.stringify(endpoint)} is not a URL`);
  }
  const refuse = (why: string) =>
    new EndpointNotAllowedError(`endpoint ${url.href} is not allowed: ${why}`);
  if (url.protocol !== 'https:') throw refuse('only https is allowed');
  if (url.username || url.password) throw refuse('user info is not allowed');
  if (url.port !== '') throw refuse('only the default https port is allowed');
  if (url.pathname !== '/' || url.search || url.hash)
    throw refuse('a path, query or fragment is not allowed');
  const host = url.hostname.toLowerCase();
  if (isIP(host.replace(/^\[|\]$/g, ''))) throw refuse('an IP address is not allowed');
  for (const cloud of Object.values(clouds)) {
    for (const suffix of cloud.openAIHostSuffixes) {
      if (!host.endsWith(suffix)) continue;
      const resourceName = host.slice(0, -suffix.length);
      if (!dnsLabel.test(resourceName))
        throw refuse('the host must be one DNS label before the Azure suffix');
      return { url: `https://${host}/`, host, resourceName, cloud };
    }
  }
  throw refuse(
    'the host is not an Azure OpenAI host (*.openai.azure.com, *.cognitiveservices.azure.com or their sovereign-cloud equivalents)',
  );
}

/** True when a bearer token for `cloud` may be sent to `host`: the check made right before every send. */
export function isAllowedOpenAIHost(host: string, cloud: Cloud): boolean {
  const lower = host.toLowerCase();
  return cloud.openAIHostSuffixes.some(
    (suffix) => lower.endsWith(suffix) && dnsLabel.test(lower.slice(0, -suffix.length)),
  );
}
