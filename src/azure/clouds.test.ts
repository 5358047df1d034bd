import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  clouds,
  EndpointNotAllowedError,
  isAllowedOpenAIHost,
  parseOpenAIEndpoint,
} from './clouds.ts';

test('endpoints of the three clouds are accepted and normalised', () => {
  const cases = [
    ['https://contoso.openai.azure.com/', 'AzurePublicCloud', 'contoso'],
    ['https://Contoso.OpenAI.Azure.com', 'AzurePublicCloud', 'contoso'],
    ['https://contoso.cognitiveservices.azure.com:443/', 'AzurePublicCloud', 'contoso'],
    ['https://adatum.openai.azure.us/', 'AzureUSGovernment', 'adatum'],
    ['https://wingtip.openai.azure.cn/', 'AzureChinaCloud', 'wingtip'],
  ] as const;
  for (const [endpoint, cloud, resource] of cases) {
    const parsed = parseOpenAIEndpoint(endpoint);
    assert.equal(parsed.cloud.name, cloud, endpoint);
    assert.equal(parsed.resourceName, resource);
    assert.equal(parsed.url, `https://${resource}.${parsed.host.slice(resource.length + 1)}/`);
  }
});

test('anything a token must not be sent to is refused with the reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['http://contoso.openai.azure.com/', /only https/],
    ['https://user:pw@contoso.openai.azure.com/', /user info/],
    ['https://contoso.openai.azure.com:8443/', /default https port/],
    ['https://contoso.openai.azure.com/openai', /path/],
    ['https://contoso.openai.azure.com/?x=1', /query/],
    ['https://20.1.2.3/', /IP address/],
    ['https://[2001:db8::1]/', /IP address/],
    ['https://contoso.openai.azure.com.evil.example/', /not an Azure OpenAI host/],
    ['https://a.b.openai.azure.com/', /one DNS label/],
    ['https://openai.azure.com/', /not an Azure OpenAI host/],
    ['not a url', /not a URL/],
  ];
  for (const [endpoint, message] of cases) {
    assert.throws(
      () => parseOpenAIEndpoint(endpoint),
      (e) => e instanceof EndpointNotAllowedError && message.test(e.message),
      endpoint,
    );
  }
});

test('a host is allowed only for its own cloud', () => {
  assert.equal(isAllowedOpenAIHost('contoso.openai.azure.com', clouds.AzurePublicCloud), true);
  assert.equal(isAllowedOpenAIHost('contoso.openai.azure.us', clouds.AzurePublicCloud), false);
  assert.equal(isAllowedOpenAIHost('contoso.openai.azure.us', clouds.AzureUSGovernment), true);
  assert.equal(isAllowedOpenAIHost('evil.com', clouds.AzurePublicCloud), false);
});
