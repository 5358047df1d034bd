// One circuit per customer tenant. A tenant whose Entra ID or endpoint keeps
// timing out, throttling or failing would otherwise hold reconcile workers for a
// whole request timeout each, and slow every other customer. After a run of
// transient failures its circuit opens: its integrations fail fast with the last
// failure (no network call) until a cool-down passes; then one trial reconcile
// goes through, and its result closes the circuit or opens it for longer.
import { type ChainLink, ValidationFailure } from '../api/reasons.ts';

export interface CircuitBreakerOptions {
  /** Consecutive transient failures that open a circuit. */
  failureThreshold: number;
  /** First cool-down; it doubles at every failed trial, up to maxOpenMs. */
  openMs: number;
  maxOpenMs: number;
  /** A trial that reports nothing in this time (a crashed reconcile) lets another one through. */
  trialTimeoutMs: number;
  now?: () => number;
}

interface Circuit {
  failures: number;
  openings: number;
  openUntil?: number;
  trialUntil?: number;
  coolDownMs?: number;
  last?: { link: ChainLink; failure: ValidationFailure };
}

export class TenantCircuitBreaker {
  readonly #circuits = new Map<string, Circuit>();
  readonly #options: Required<CircuitBreakerOptions>;
  openings = 0;

  constructor(options: CircuitBreakerOptions) {
    this.#options = { now: Date.now, ...options };
  }

  /** Undefined when calls may go out; otherwise the failure to report without calling Azure. */
  admit(tenant: string): { link: ChainLink; failure: ValidationFailure } | undefined {
    const circuit = this.#circuits.get(tenant);
    if (circuit?.openUntil === undefined || !circuit.last) return undefined;
    const now = this.#options.now();
    if (now < circuit.openUntil) return paused(circuit, circuit.openUntil - now);
    if (circuit.trialUntil !== undefined && now < circuit.trialUntil)
      return paused(circuit, circuit.trialUntil - now);
    circuit.trialUntil = now + this.#options.trialTimeoutMs;
    return undefined;
  }

  succeeded(tenant: string): void {
    this.#circuits.delete(tenant);
  }

  failed(tenant: string, link: ChainLink, failure: ValidationFailure): void {
    const circuit = this.#circuits.get(tenant) ?? { failures: 0, openings: 0 };
    this.#circuits.set(tenant, circuit);
    circuit.failures++;
    circuit.last = { link, failure };
    const trialFailed = circuit.trialUntil !== undefined;
    if (!trialFailed && circuit.failures < this.#options.failureThreshold) return;
    circuit.trialUntil = undefined;
    circuit.openings++;
    this.openings++;
    circuit.coolDownMs = Math.min(
      this.#options.openMs * 2 ** (circuit.openings - 1),
      this.#options.maxOpenMs,
    );
    circuit.openUntil = this.#options.now() + circuit.coolDownMs;
  }

  /** Tenants whose calls are paused now, for the metrics. */
  get open(): number {
    const now = this.#options.now();
    let count = 0;
    for (const circuit of this.#circuits.values())
      if (circuit.openUntil !== undefined && now < circuit.openUntil) count++;
    return count;
  }
}

// The message changes only when the circuit opens again, so a paused integration's status is not rewritten at every retry.
function paused(
  circuit: Circuit,
  remainingMs: number,
): { link: ChainLink; failure: ValidationFailure } {
  const { link, failure } = circuit.last as NonNullable<Circuit['last']>;
  const coolDownS = Math.round((circuit.coolDownMs ?? 0) / 1000);
  return {
    link,
    failure: new ValidationFailure(
      failure.reason,
      `${failure.message}; calls to this tenant are paused for ${coolDownS} s after ${circuit.failures} consecutive failures`,
      { retryAfterMs: remainingMs },
    ),
  };
}
