// The three Azure clouds as the emulator serves them: which host names belong
// to which service, and which resource identifiers a token can be issued for.
// Source: AZURE-FACTS.md "Clouds".

export const cloudNames = ['public', 'usgov', 'china'] as const;
export type CloudName = (typeof cloudNames)[number];

export type Cloud = {
  name: CloudName;
  authorityHost: string;
  // Data-plane host suffixes; the resource is the first label in front of one.
  openAiSuffixes: string[];
  // `aud` of a data-plane token, as Entra issues it for the `/.default` scope.
  dataPlaneAudience: string;
  managementHost: string;
  // Identifier URIs of ARM: the first is what the SDK asks for by default.
  managementAudiences: string[];
};

export const clouds: Record<CloudName, Cloud> = {
  public: {
    name: 'public',
    authorityHost: 'login.microsoftonline.com',
    openAiSuffixes: ['openai.azure.com', 'cognitiveservices.azure.com'],
    dataPlaneAudience: 'https://cognitiveservices.azure.com',
    managementHost: 'management.azure.com',
    managementAudiences: ['https://management.azure.com/', 'https://management.core.windows.net/'],
  },
  usgov: {
    name: 'usgov',
    authorityHost: 'login.microsoftonline.us',
    openAiSuffixes: ['openai.azure.us', 'cognitiveservices.azure.us'],
    dataPlaneAudience: 'https://cognitiveservices.azure.us',
    managementHost: 'management.usgovcloudapi.net',
    managementAudiences: [
      'https://management.usgovcloudapi.net/',
      'https://management.core.usgovcloudapi.net/',
    ],
  },
  china: {
    name: 'china',
    authorityHost: 'login.chinacloudapi.cn',
    openAiSuffixes: ['openai.azure.cn', 'cognitiveservices.azure.cn'],
    dataPlaneAudience: 'https://cognitiveservices.azure.cn',
    managementHost: 'management.chinacloudapi.cn',
    managementAudiences: [
      'https://management.chinacloudapi.cn/',
      'https://management.core.chinacloudapi.cn/',
    ],
  },
};

const allClouds = cloudNames.map((name) => clouds[name]);

export function cloudOfAuthorityHost(host: string): Cloud | undefined {
  return allClouds.find((cloud) => cloud.authorityHost === host);
}

export function cloudOfManagementHost(host: string): Cloud | undefined {
  return allClouds.find((cloud) => cloud.managementHost === host);
}

export type DataPlaneHost = { cloud: Cloud; resourceName: string };

export function parseDataPlaneHost(host: string): DataPlaneHost | undefined {
  for (const cloud of allClouds) {
    for (const suffix of cloud.openAiSuffixes) {
      if (!host.endsWith(`.${suffix}`)) continue;
      const label = host.slice(0, -suffix.length - 1);
      // Only a single label in front of the suffix is a resource (wildcard semantics).
      if (label.length > 0 && !label.includes('.')) return { cloud, resourceName: label };
    }
  }
  return undefined;
}

export function openAiEndpoint(cloud: CloudName, resourceName: string): string {
  return `https://${resourceName}.${clouds[cloud].openAiSuffixes[0]}/`;
}

// Every name the emulator's one server certificate must cover.
export function azureHostNames(): string[] {
  return allClouds.flatMap((cloud) => [
    cloud.authorityHost,
    cloud.managementHost,
    ...cloud.openAiSuffixes.map((suffix) => `*.${suffix}`),
  ]);
}

export type TokenResource = { kind: 'dataPlane' | 'management'; audience: string };

// Maps the resource part of a `/.default` scope to the `aud` Entra puts in the
// token; resources of other clouds are unknown to this cloud's authority.
export function tokenResourceForScope(cloud: Cloud, resource: string): TokenResource | undefined {
  const wanted = withoutTrailingSlash(resource);
  if (withoutTrailingSlash(cloud.dataPlaneAudience) === wanted) {
    return { kind: 'dataPlane', audience: cloud.dataPlaneAudience };
  }
  const management = cloud.managementAudiences.find((uri) => withoutTrailingSlash(uri) === wanted);
  return management === undefined ? undefined : { kind: 'management', audience: management };
}

export function audienceMatches(tokenAudience: string, expected: string): boolean {
  return withoutTrailingSlash(tokenAudience) === withoutTrailingSlash(expected);
}

function withoutTrailingSlash(uri: string): string {
  return uri.replace(/\/+$/, '').toLowerCase();
}
