// The published ConfigMap, a contract with platform workloads (docs/configmap-contract.md):
// a versioned JSON document plus flat keys for envFrom, listing only deployments that
// passed validation, and never a secret or token. Pure: built and hashed without I/O.
import { createHash } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { z } from 'zod';
import {
  annotations,
  apiVersion,
  fieldManager,
  integrationResource,
  labels,
} from '../api/group.ts';
import type { Cloud } from '../azure/clouds.ts';

export const documentKey = 'integration.json';
export const documentSchemaVersion = 'llm.runwhen.com/v1alpha1';

/** The JSON document's schema; consumers may validate with it (or its JSON rendering in the docs). */
export const publishedDocumentSchema = z.strictObject({
  schemaVersion: z.literal(documentSchemaVersion),
  endpoint: z.url(),
  tenantId: z.string(),
  clientId: z.string(),
  cloud: z.string(),
  authorityHost: z.url(),
  scope: z.string(),
  apiVersion: z.string(),
  defaultDeployment: z.string(),
  deployments: z
    .array(
      z.strictObject({
        name: z.string(),
        capability: z.enum(['chat', 'embeddings']).optional(),
        model: z.string().optional(),
        modelVersion: z.string().optional(),
      }),
    )
    .min(1),
});
export type PublishedDocument = z.infer<typeof publishedDocumentSchema>;

export interface PublishedDeployment {
  name: string;
  capability?: 'chat' | 'embeddings';
  model?: string;
  modelVersion?: string;
}

export interface PublicationInput {
  integration: { name: string; namespace: string; uid: string };
  configMapName: string;
  endpointUrl: string;
  tenantId: string;
  clientId: string;
  cloud: Cloud;
  apiVersion: string;
  defaultDeployment: string | undefined;
  deployments: PublishedDeployment[];
}

export interface Publication {
  configMapName: string;
  contentHash: string;
  deployments: string[];
  configMap: V1ConfigMap;
}

export function defaultConfigMapName(integrationName: string): string {
  return `${integrationName}-azure-openai`.slice(0, 253);
}

export function buildPublication(input: PublicationInput): Publication {
  // Character-code order, the same in every locale; localeCompare would also load
  // ICU's collator, 2.6 MB of resident memory for names that are ASCII anyway.
  const deployments = [...input.deployments].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const first = deployments[0];
  if (!first) throw new Error('A publication needs at least one ready deployment');
  const defaultDeployment =
    deployments.find((d) => d.name === input.defaultDeployment)?.name ?? first.name;
  const document: PublishedDocument = publishedDocumentSchema.parse({
    schemaVersion: documentSchemaVersion,
    endpoint: input.endpointUrl,
    tenantId: input.tenantId,
    clientId: input.clientId,
    cloud: input.cloud.name,
    authorityHost: input.cloud.authorityHost,
    scope: input.cloud.dataPlaneScope,
    apiVersion: input.apiVersion,
    defaultDeployment,
    deployments,
  });
  const data: Record<string, string> = {
    [documentKey]: `${JSON.stringify(document, null, 2)}\n`,
    AZURE_OPENAI_ENDPOINT: document.endpoint,
    AZURE_TENANT_ID: document.tenantId,
    AZURE_CLIENT_ID: document.clientId,
    AZURE_AUTHORITY_HOST: document.authorityHost,
    AZURE_OPENAI_SCOPE: document.scope,
    AZURE_OPENAI_DEPLOYMENT: defaultDeployment,
    AZURE_OPENAI_DEPLOYMENTS: deployments.map((d) => d.name).join(','),
    OPENAI_API_VERSION: document.apiVersion,
  };
  const contentHash = hashData(data);
  return {
    configMapName: input.configMapName,
    contentHash,
    deployments: deployments.map((d) => d.name),
    configMap: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: input.configMapName,
        namespace: input.integration.namespace,
        labels: { [labels.managedBy]: fieldManager, [labels.integration]: input.integration.name },
        annotations: { [annotations.contentHash]: contentHash },
        ownerReferences: [
          {
            apiVersion,
            kind: integrationResource.kind,
            name: input.integration.name,
            uid: input.integration.uid,
            controller: true,
          },
        ],
      },
      data,
    },
  };
}

export function hashData(data: Record<string, string>): string {
  const canonical = JSON.stringify(
    Object.keys(data)
      .sort()
      .map((k) => [k, data[k]]),
  );
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

export function isOwnedBy(
  configMap: { metadata?: V1ConfigMap['metadata'] },
  integrationUid: string,
): boolean {
  return (configMap.metadata?.ownerReferences ?? []).some(
    (o) => o.uid === integrationUid && o.kind === integrationResource.kind,
  );
}
