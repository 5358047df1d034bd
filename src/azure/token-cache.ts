// One token request per (identity material, tenant, scope) per token lifetime:
// tokens are reused until close to expiry and a request in flight is shared.
import type { AccessToken, TokenCredential } from '@azure/identity';

/** Matches @azure/identity: a token within five minutes of expiry counts as expired. */
const refreshMarginMs = 5 * 60_000;

export class TokenCache {
  readonly #tokens = new Map<string, AccessToken>();
  readonly #inFlight = new Map<string, Promise<AccessToken>>();
  readonly #now: () => number;
  hits = 0;
  misses = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** `cached` says the token was issued before this call, so Azure may since have revoked what it proves. */
  async getToken(
    key: string,
    scope: string,
    credential: TokenCredential,
  ): Promise<{ accessToken: AccessToken; cached: boolean }> {
    const cacheKey = `${key}\0${scope}`;
    const cached = this.#tokens.get(cacheKey);
    if (cached && cached.expiresOnTimestamp - refreshMarginMs > this.#now()) {
      this.hits++;
      return { accessToken: cached, cached: true };
    }
    const pending = this.#inFlight.get(cacheKey);
    if (pending) {
      this.hits++;
      return { accessToken: await pending, cached: false };
    }
    this.misses++;
    const request = credential
      .getToken(scope)
      .then((token) => {
        if (!token) throw new Error('The credential returned no token');
        this.#tokens.set(cacheKey, token);
        return token;
      })
      .finally(() => this.#inFlight.delete(cacheKey));
    this.#inFlight.set(cacheKey, request);
    return { accessToken: await request, cached: false };
  }

  /** Forgets the tokens of a credential, e.g. when Azure rejected them. */
  forget(key: string): void {
    for (const cacheKey of this.#tokens.keys()) {
      if (cacheKey.startsWith(`${key}\0`)) this.#tokens.delete(cacheKey);
    }
  }
}
