// One token request per (identity material, tenant, scope) per token lifetime:
// tokens are reused until close to expiry and a request in flight is shared.
import type { AccessToken, TokenCredential } from '@azure/identity';

/** Matches @azure/identity: a token within five minutes of expiry counts as expired. */
const refreshMarginMs = 5 * 60_000;

export interface TokenRequestHooks {
  /** Runs before a request would go out; it throws to refuse it (an open circuit). */
  beforeRequest?: () => void;
  /** Runs once per failed request, for the call that sent it, not for the calls that shared it. */
  onFailure?: (error: unknown) => void;
}

export class TokenCache {
  readonly #tokens = new Map<string, AccessToken>();
  readonly #inFlight = new Map<string, Promise<AccessToken>>();
  readonly #now: () => number;
  readonly #timeoutMs: number;
  hits = 0;
  misses = 0;

  /** `timeoutMs` bounds a token request: MSAL ignores abort signals, and a hung authority would hang it forever. */
  constructor(timeoutMs: number, now: () => number = Date.now) {
    this.#timeoutMs = timeoutMs;
    this.#now = now;
  }

  /** `cached` says the token was issued before this call, so Azure may since have revoked what it proves. */
  async getToken(
    key: string,
    scope: string,
    credential: TokenCredential,
    hooks: TokenRequestHooks = {},
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
    hooks.beforeRequest?.();
    this.misses++;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          Object.assign(
            new Error(`The token request did not complete within ${this.#timeoutMs}ms`),
            { name: 'TimeoutError' },
          ),
        );
      }, this.#timeoutMs);
    });
    const request = Promise.race([credential.getToken(scope), timeout])
      .then((token) => {
        if (!token) throw new Error('The credential returned no token');
        this.#tokens.set(cacheKey, token);
        return token;
      })
      .finally(() => {
        clearTimeout(timer);
        this.#inFlight.delete(cacheKey);
      });
    this.#inFlight.set(cacheKey, request);
    try {
      return { accessToken: await request, cached: false };
    } catch (error) {
      hooks.onFailure?.(error);
      throw error;
    }
  }

  /** Forgets the tokens of a credential, e.g. when Azure rejected them. */
  forget(key: string): void {
    for (const cacheKey of this.#tokens.keys()) {
      if (cacheKey.startsWith(`${key}\0`)) this.#tokens.delete(cacheKey);
    }
  }
}
