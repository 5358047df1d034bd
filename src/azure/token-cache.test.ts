import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { TokenCache } from './token-cache.ts';

/** A credential whose requests the test settles by hand. */
function manualCredential() {
  const requests: Array<{ resolve: (t: AccessToken) => void; reject: (e: Error) => void }> = [];
  const credential: TokenCredential = {
    getToken: () => new Promise((resolve, reject) => requests.push({ resolve, reject })),
  };
  return { credential, requests };
}

test('integrations sharing a request in flight send it once, and a failure is reported once', async () => {
  const cache = new TokenCache(10_000);
  const { credential, requests } = manualCredential();
  let failures = 0;
  let sent = 0;
  const hooks = { beforeRequest: () => sent++, onFailure: () => failures++ };
  const calls = Array.from({ length: 5 }, () =>
    cache.getToken('identity', 'scope', credential, hooks),
  );
  assert.equal(requests.length, 1, 'one request for five callers');
  requests[0]?.reject(new Error('AADSTS50058'));
  const results = await Promise.allSettled(calls);
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected', 'rejected', 'rejected', 'rejected'],
  );
  assert.equal(sent, 1);
  assert.equal(failures, 1, 'the failure counts once, for the call that sent the request');
});

test('a token is reused until five minutes before it expires, then requested again', async () => {
  let now = 0;
  const cache = new TokenCache(10_000, () => now);
  const { credential, requests } = manualCredential();
  const first = cache.getToken('identity', 'scope', credential);
  requests[0]?.resolve({ token: 't1', expiresOnTimestamp: 60 * 60_000 });
  assert.deepEqual(await first, {
    accessToken: { token: 't1', expiresOnTimestamp: 3_600_000 },
    cached: false,
  });
  now = 54 * 60_000;
  assert.equal((await cache.getToken('identity', 'scope', credential)).cached, true);
  now = 55 * 60_000;
  const renewed = cache.getToken('identity', 'scope', credential);
  assert.equal(requests.length, 2, 'inside the margin a new request goes out');
  requests[1]?.resolve({ token: 't2', expiresOnTimestamp: 2 * 60 * 60_000 });
  assert.equal((await renewed).accessToken.token, 't2');
});
