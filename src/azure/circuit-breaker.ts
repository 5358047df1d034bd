// Circuits per customer target: one for each tenant's sign-in and one for each
// endpoint host, so one broken resource does not pause a customer's others. A
// target that keeps timing out, throttling or failing would otherwise hold
// reconcile workers for a whole request timeout each, and slow every other
// customer. After a run of transient failures its circuit opens: integrations
// that need it fail fast with its last failure (no network call) until a
// cool-down passes; then one trial goes through, and its result closes the
// circuit or opens it for longer.
//
// A failure that carries Retry-After opens its circuit at once for that long:
// whatever wakes an integration meanwhile (an edit, a rotated Secret), no call
// reaches the target before Azure said it may.
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

export type PausedCall = { link: ChainLink; failure: ValidationFailure };

interface Circuit {
  failures: number;
  openings: number;
  openUntil?: number;
  trialUntil?: number;
  coolDownMs: number;
  retryAfter: boolean;
  last?: PausedCall;
}

export class CircuitBreaker {
  readonly #circuits = new Map<string, Circuit>();
  readonly #options: Required<CircuitBreakerOptions>;
  openings = 0;

  constructor(options: CircuitBreakerOptions) {
    this.#options = { now: Date.now, ...options };
  }

  /** Undefined when a call to the target may go out; otherwise the failure to report instead. */
  admit(target: string): PausedCall | undefined {
    const circuit = this.#circuits.get(target);
    if (circuit?.openUntil === undefined) return undefined;
    const now = this.#options.now();
    if (now < circuit.openUntil) return paused(target, circuit, circuit.openUntil - now);
    if (circuit.trialUntil !== undefined && now < circuit.trialUntil)
      return paused(target, circuit, circuit.trialUntil - now);
    circuit.trialUntil = now + this.#options.trialTimeoutMs;
    return undefined;
  }

  /** Whether a trial of the target is out: right after `admit`, whether that call is it. */
  inTrial(target: string): boolean {
    return this.#circuits.get(target)?.trialUntil !== undefined;
  }

  /** The trial will report nothing (its run was superseded): another may go at once. */
  abandonTrial(target: string): void {
    const circuit = this.#circuits.get(target);
    if (circuit) circuit.trialUntil = undefined;
  }

  succeeded(target: string): void {
    this.#circuits.delete(target);
  }

  failed(target: string, link: ChainLink, failure: ValidationFailure): void {
    const circuit = this.#circuits.get(target) ?? {
      failures: 0,
      openings: 0,
      coolDownMs: 0,
      retryAfter: false,
    };
    this.#circuits.set(target, circuit);
    circuit.failures++;
    circuit.last = { link, failure };
    const now = this.#options.now();
    const trialFailed = circuit.trialUntil !== undefined;
    if (!trialFailed && circuit.failures < this.#options.failureThreshold) {
      if (failure.retryAfterMs) {
        circuit.retryAfter = true;
        circuit.coolDownMs = failure.retryAfterMs;
        circuit.openUntil = Math.max(circuit.openUntil ?? 0, now + failure.retryAfterMs);
      }
      return;
    }
    circuit.trialUntil = undefined;
    circuit.openings++;
    this.openings++;
    circuit.retryAfter = false;
    circuit.coolDownMs = Math.max(
      Math.min(this.#options.openMs * 2 ** (circuit.openings - 1), this.#options.maxOpenMs),
      failure.retryAfterMs ?? 0,
    );
    circuit.openUntil = now + circuit.coolDownMs;
  }

  /** Targets whose calls are paused now, for the metrics. */
  get open(): number {
    const now = this.#options.now();
    let count = 0;
    for (const circuit of this.#circuits.values())
      if (circuit.openUntil !== undefined && now < circuit.openUntil) count++;
    return count;
  }
}

// The message changes only when the circuit opens again, so a paused
// integration's status is not rewritten at every retry.
function paused(target: string, circuit: Circuit, remainingMs: number): PausedCall {
  const { link, failure } = circuit.last as PausedCall;
  const seconds = Math.round(circuit.coolDownMs / 1000);
  const why = circuit.retryAfter
    ? 'as its Retry-After asked'
    : `after ${circuit.failures} consecutive failures`;
  return {
    link,
    failure: new ValidationFailure(
      failure.reason,
      `${failure.message}; calls to ${target} are paused for ${seconds} s ${why}`,
      { retryAfterMs: remainingMs },
    ),
  };
}
