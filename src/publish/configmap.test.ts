import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clouds } from '../azure/clouds.ts';
import { buildPublication, documentKey, type PublicationInput } from './configmap.ts';

const input = (deployments: string[], defaultDeployment?: string): PublicationInput => ({
  integration: { name: 'contoso', namespace: 'team-a', uid: 'uid-1' },
  configMapName: 'contoso-azure-openai',
  endpointUrl: 'https://contoso.openai.azure.com/',
  tenantId: '11111111-1111-4111-8111-111111111111',
  clientId: '22222222-2222-4222-8222-222222222222',
  cloud: clouds.AzurePublicCloud,
  apiVersion: '2024-10-21',
  defaultDeployment,
  deployments: deployments.map((name) => ({ name })),
});

test('deployments are published in code-point order, whatever order they were validated in', () => {
  const first = buildPublication(input(['gpt-4o-mini', 'embed', 'GPT4', 'gpt-4o']));
  const second = buildPublication(input(['gpt-4o', 'GPT4', 'gpt-4o-mini', 'embed']));

  const data = first.configMap.data ?? {};
  assert.equal(data.AZURE_OPENAI_DEPLOYMENTS, 'GPT4,embed,gpt-4o,gpt-4o-mini');
  const document = JSON.parse(data[documentKey] ?? '{}') as { deployments: { name: string }[] };
  assert.deepEqual(
    document.deployments.map((d) => d.name),
    ['GPT4', 'embed', 'gpt-4o', 'gpt-4o-mini'],
  );
  // Without spec.defaultDeployment, the first in that order is the default.
  assert.equal(data.AZURE_OPENAI_DEPLOYMENT, 'GPT4');
  // The same set gives the same bytes, so a re-validation that finds them in another
  // order writes nothing.
  assert.equal(second.contentHash, first.contentHash);
  assert.deepEqual(second.configMap.data, first.configMap.data);
});

test('spec.defaultDeployment is the default when it is ready', () => {
  const publication = buildPublication(input(['gpt-4o', 'embed'], 'gpt-4o'));
  assert.equal(publication.configMap.data?.AZURE_OPENAI_DEPLOYMENT, 'gpt-4o');
});
