// Per-deployment quota like Azure OpenAI's Standard deployments: capacity is
// in units of 1K tokens per minute, with 6 requests per minute per unit,
// counted over a sliding minute.

export type RateDecision = {
  allowed: boolean;
  remainingRequests: number;
  remainingTokens: number;
  // Whole seconds until the oldest counted request leaves the window.
  retryAfterSeconds: number;
};

export type RateLimiter = {
  admit(key: string, capacity: number, estimatedTokens: number): RateDecision;
  reset(): void;
};

const windowMs = 60_000;

export function createRateLimiter(now: () => number = Date.now): RateLimiter {
  const windows = new Map<string, { at: number; tokens: number }[]>();
  return {
    admit(key, capacity, estimatedTokens) {
      const at = now();
      const recent = (windows.get(key) ?? []).filter((entry) => at - entry.at < windowMs);
      const requestLimit = capacity * 6;
      const tokenLimit = capacity * 1000;
      const usedTokens = recent.reduce((sum, entry) => sum + entry.tokens, 0);
      const allowed = recent.length < requestLimit && usedTokens + estimatedTokens <= tokenLimit;
      if (allowed) recent.push({ at, tokens: estimatedTokens });
      windows.set(key, recent);
      const oldest = recent[0]?.at ?? at;
      return {
        allowed,
        remainingRequests: Math.max(0, requestLimit - recent.length),
        remainingTokens: Math.max(0, tokenLimit - usedTokens - (allowed ? estimatedTokens : 0)),
        retryAfterSeconds: Math.max(1, Math.ceil((oldest + windowMs - at) / 1000)),
      };
    },
    reset() {
      windows.clear();
    },
  };
}
