// Names that are part of the API contract: changing one breaks users.
export const group = 'llm.runwhen.com';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

export const integrationResource = {
  group,
  version,
  plural: 'azureopenaiintegrations',
  kind: 'AzureOpenAIIntegration',
} as const;
export const servicePrincipalResource = {
  group,
  version,
  plural: 'azureserviceprincipals',
  kind: 'AzureServicePrincipal',
} as const;

export const finalizer = `${group}/cleanup`;
export const fieldManager = 'azure-openai-operator';

export const labels = {
  managedBy: 'app.kubernetes.io/managed-by',
  integration: `${group}/integration`,
} as const;

export const annotations = {
  contentHash: `${group}/content-hash`,
} as const;
