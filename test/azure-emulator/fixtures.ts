// Shared set-up for the emulator's own tests: one emulator and one key set
// per test file, and the REAL SDK clients wired to it through connect-to,
// exactly as the operator wires them (real host names, verified TLS).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CognitiveServicesManagementClient } from '@azure/arm-cognitiveservices';
import type { TokenCredential } from '@azure/core-auth';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  getBearerTokenProvider,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { AzureOpenAI } from 'openai';
import {
  type AzureTransport,
  createAzureTransport,
  parseConnectTo,
} from '../../src/azure/connect-to.ts';
import { type CloudName, clouds } from './clouds.ts';
import type { FederatedIssuer } from './federated-issuer.ts';
import { type AzureEmulator, startAzureEmulator, type WorldInput } from './index.ts';
import type { ClientCertificate } from './pki.ts';
import {
  createSampleCredentials,
  platform,
  type SampleCredentials,
  sampleWorld,
} from './sample-world.ts';

export type SampleKeys = { certificate: ClientCertificate; federatedIssuer: FederatedIssuer };

export type OpenAiOptions = {
  cloud?: CloudName;
  tenantId?: string;
  credential?: TokenCredential;
  // Replaces the credential-based provider, e.g. to send a hand-made token.
  tokenProvider?: () => Promise<string>;
  scope?: string;
  apiVersion?: string;
  maxRetries?: number;
  timeoutMs?: number;
};

export type EmulatorFixture = {
  emulator: AzureEmulator;
  keys: SampleKeys;
  transport: AzureTransport;
  identityOptions(cloud?: CloudName): {
    authorityHost: string;
    disableInstanceDiscovery: true;
    httpClient: AzureTransport['httpClient'];
  };
  secretCredential(tenantId: string, secret?: string, cloud?: CloudName): ClientSecretCredential;
  certificateCredential(tenantId: string, pem?: string): ClientCertificateCredential;
  workloadIdentityCredential(
    tenantId: string,
    federatedToken?: string,
  ): Promise<WorkloadIdentityCredential>;
  openAi(resource: string, options?: OpenAiOptions): AzureOpenAI;
  arm(
    subscriptionId: string,
    options?: { credential?: TokenCredential; cloud?: CloudName; tenantId?: string },
  ): CognitiveServicesManagementClient;
  // Back to the sample world (or the file's own) with an empty request log.
  reset(): void;
  close(): Promise<void>;
};

export async function startEmulatorFixture(
  options: { world?: (keys: SampleCredentials) => WorldInput; extraHostNames?: string[] } = {},
): Promise<EmulatorFixture> {
  const keys = await createSampleCredentials();
  const buildWorld = options.world ?? sampleWorld;
  const emulator = await startAzureEmulator({
    world: buildWorld(keys),
    ...(options.extraHostNames === undefined ? {} : { extraHostNames: options.extraHostNames }),
  });
  const transport = createAzureTransport({
    connectTo: parseConnectTo(emulator.connectTo),
    extraCaPem: [emulator.caPem],
  });
  const tokenDir = await mkdtemp(join(tmpdir(), 'azure-emulator-wi-'));
  let tokenFiles = 0;

  const identityOptions = (cloud: CloudName = 'public') => ({
    authorityHost: `https://${clouds[cloud].authorityHost}`,
    disableInstanceDiscovery: true as const,
    httpClient: transport.httpClient,
  });
  const secretCredential = (
    tenantId: string,
    secret: string = platform.clientSecret,
    cloud: CloudName = 'public',
  ) => new ClientSecretCredential(tenantId, platform.appId, secret, identityOptions(cloud));

  return {
    emulator,
    keys,
    transport,
    identityOptions,
    secretCredential,
    certificateCredential: (tenantId, pem = keys.certificate.pem) =>
      new ClientCertificateCredential(
        tenantId,
        platform.appId,
        { certificate: pem },
        identityOptions(),
      ),
    async workloadIdentityCredential(tenantId, federatedToken = keys.federatedIssuer.issueToken()) {
      tokenFiles += 1;
      const tokenFilePath = join(tokenDir, `token-${tokenFiles}`);
      await writeFile(tokenFilePath, federatedToken);
      return new WorkloadIdentityCredential({
        tenantId,
        clientId: platform.appId,
        tokenFilePath,
        ...identityOptions(),
      });
    },
    openAi(resource, openAiOptions = {}) {
      const cloud = clouds[openAiOptions.cloud ?? 'public'];
      const tokenProvider =
        openAiOptions.tokenProvider ??
        getBearerTokenProvider(
          openAiOptions.credential ??
            secretCredential(openAiOptions.tenantId ?? '', platform.clientSecret, cloud.name),
          openAiOptions.scope ?? `${cloud.dataPlaneAudience}/.default`,
        );
      return new AzureOpenAI({
        endpoint: `https://${resource}.${cloud.openAiSuffixes[0]}`,
        apiVersion: openAiOptions.apiVersion ?? '2024-10-21',
        azureADTokenProvider: tokenProvider,
        fetch: transport.fetch,
        maxRetries: openAiOptions.maxRetries ?? 0,
        ...(openAiOptions.timeoutMs === undefined ? {} : { timeout: openAiOptions.timeoutMs }),
      });
    },
    arm(subscriptionId, armOptions = {}) {
      const cloud = clouds[armOptions.cloud ?? 'public'];
      const endpoint = `https://${cloud.managementHost}`;
      const credential =
        armOptions.credential ??
        secretCredential(armOptions.tenantId ?? '', platform.clientSecret, cloud.name);
      return new CognitiveServicesManagementClient(credential, subscriptionId, {
        endpoint,
        credentialScopes: [`${endpoint}/.default`],
        httpClient: transport.httpClient,
        retryOptions: { maxRetries: 0 },
      });
    },
    reset() {
      emulator.setWorld(buildWorld(keys));
      emulator.clearRequests();
    },
    async close() {
      await transport.close();
      await emulator.close();
      await rm(tokenDir, { recursive: true, force: true });
    },
  };
}

// The claims of a JWT, unverified: tests look at what the SDK was given.
export function decodeClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}
