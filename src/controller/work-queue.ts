// A queue of keys in the manner of client-go's workqueue: a key waiting is held
// once however often it is added, a key is never processed twice at once (an add
// while it runs marks it dirty and it runs again after), concurrency is bounded,
// and failures back off per key, exponentially up to a cap. Like client-go's
// default controller rate limiter, an overall token bucket also spaces the
// retries of all keys together, so a cluster-wide failure cannot become a storm.
// Delayed keys share one timer, set for the earliest: thousands of integrations
// waiting for their re-validation are a heap of numbers, not thousands of timers.

export interface WorkQueueOptions {
  concurrency: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** The overall retry bucket: retries per second, and how many may go at once. */
  retryRatePerSecond?: number;
  retryBurst?: number;
  now?: () => number;
  /** Injected timers (with `now`), so the scheduling can be tested without sleeping. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export type Lane = 'urgent' | 'routine';

/**
 * Handles one key; the lane says whether a watch event (urgent) or a re-validation woke
 * it. A routine run's signal aborts when an event for its key arrives meanwhile: the
 * key runs again at once, urgent, and what the routine run was waiting for is moot.
 */
export type Handler = (
  key: string,
  lane: Lane,
  superseded: AbortSignal | undefined,
) => Promise<{ requeueAfterMs?: number } | undefined>;

export class WorkQueue {
  // Two lanes: keys woken by a watch event (a user's edit) go before periodic
  // re-validation, so an edit never waits behind thousands of routine probes.
  readonly #urgent: string[] = [];
  readonly #routine: string[] = [];
  readonly #queued = new Map<string, Lane>();
  readonly #processing = new Set<string>();
  /** The routine runs an event may supersede. */
  readonly #routineRuns = new Map<string, AbortController>();
  readonly #dirty = new Set<string>();
  /** When each delayed key is due; `#due` orders them, with stale entries left to expire. */
  readonly #delayed = new Map<string, number>();
  readonly #due = new MinHeap();
  #timer: { handle: unknown; at: number } | undefined;
  readonly #failures = new Map<string, number>();
  readonly #options: Required<WorkQueueOptions>;
  readonly #retryBucket: TokenBucket;
  #handler: Handler | undefined;
  #shuttingDown = false;
  #idle: Array<() => void> = [];
  onError: (key: string, error: unknown) => void = () => {};

  constructor(options: WorkQueueOptions) {
    this.#options = {
      baseBackoffMs: 500,
      maxBackoffMs: 5 * 60_000,
      setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
      clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
      retryRatePerSecond: 10,
      retryBurst: 100,
      now: Date.now,
      ...options,
    };
    this.#retryBucket = new TokenBucket(
      this.#options.retryRatePerSecond,
      this.#options.retryBurst,
      this.#options.now,
    );
  }

  get depth(): number {
    return this.#urgent.length + this.#routine.length;
  }

  get inFlight(): number {
    return this.#processing.size;
  }

  start(handler: Handler): void {
    this.#handler = handler;
    this.#pump();
  }

  add(key: string, lane: Lane = 'urgent'): void {
    if (this.#shuttingDown) return;
    this.#delayed.delete(key);
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      if (lane === 'urgent') this.#routineRuns.get(key)?.abort();
      return;
    }
    const queuedIn = this.#queued.get(key);
    if (queuedIn === 'urgent' || queuedIn === lane) return;
    if (queuedIn === 'routine') this.#routine.splice(this.#routine.indexOf(key), 1);
    this.#queued.set(key, lane);
    (lane === 'urgent' ? this.#urgent : this.#routine).push(key);
    this.#pump();
  }

  /** Adds the key after a delay; an earlier add (or an earlier delayed add) wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key, 'routine');
      return;
    }
    const at = this.#options.now() + delayMs;
    const existing = this.#delayed.get(key);
    if (existing !== undefined && existing <= at) return;
    this.#delayed.set(key, at);
    this.#due.push(at, key);
    // Entries of keys added or rescheduled since: rebuilt before they outnumber the live ones.
    if (this.#due.size > 2 * this.#delayed.size + 1024) this.#due.rebuild(this.#delayed);
    this.#arm();
  }

  /** Keeps the one timer set for the earliest due key. */
  #arm(): void {
    const next = this.#due.peekAt();
    if (this.#timer && (next === undefined || next < this.#timer.at)) {
      this.#options.clearTimer(this.#timer.handle);
      this.#timer = undefined;
    }
    if (next === undefined || this.#timer) return;
    const handle = this.#options.setTimer(
      () => this.#fire(),
      Math.max(0, next - this.#options.now()),
    );
    this.#timer = { handle, at: next };
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.#options.now();
    for (let at = this.#due.peekAt(); at !== undefined && at <= now; at = this.#due.peekAt()) {
      const key = this.#due.pop();
      if (this.#delayed.get(key) !== at) continue;
      this.#delayed.delete(key);
      this.add(key, 'routine');
    }
    this.#arm();
  }

  /** Stops intake and waits for running work, up to the deadline. */
  async shutdown(deadlineMs: number): Promise<boolean> {
    this.#shuttingDown = true;
    if (this.#timer) this.#options.clearTimer(this.#timer.handle);
    this.#timer = undefined;
    this.#delayed.clear();
    this.#due.rebuild(this.#delayed);
    this.#urgent.length = 0;
    this.#routine.length = 0;
    this.#queued.clear();
    if (this.#processing.size === 0) return true;
    return Promise.race([
      new Promise<boolean>((resolve) => this.#idle.push(() => resolve(true))),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), deadlineMs).unref()),
    ]);
  }

  #pump(): void {
    const handler = this.#handler;
    if (!handler) return;
    while (this.#processing.size < this.#options.concurrency && this.depth > 0) {
      const lane: Lane = this.#urgent.length > 0 ? 'urgent' : 'routine';
      const key = (lane === 'urgent' ? this.#urgent : this.#routine).shift() as string;
      this.#queued.delete(key);
      this.#processing.add(key);
      void this.#run(key, lane, handler);
    }
  }

  async #run(key: string, lane: Lane, handler: Handler): Promise<void> {
    let next: number | undefined;
    const routine = lane === 'routine' ? new AbortController() : undefined;
    if (routine) this.#routineRuns.set(key, routine);
    try {
      const result = await handler(key, lane, routine?.signal);
      this.#failures.delete(key);
      next = result?.requeueAfterMs;
    } catch (error) {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      next = Math.max(
        Math.min(this.#options.baseBackoffMs * 2 ** (failures - 1), this.#options.maxBackoffMs),
        this.#retryBucket.reserve(),
      );
      this.onError(key, error);
    } finally {
      this.#processing.delete(key);
      this.#routineRuns.delete(key);
    }
    if (this.#dirty.delete(key)) this.add(key);
    else if (next !== undefined) this.addAfter(key, next);
    if (this.#processing.size === 0 && this.#shuttingDown)
      for (const resolve of this.#idle.splice(0)) resolve();
    this.#pump();
  }
}

/** A token bucket whose reservations may go into debt: each returns how long to wait for its token. */
class TokenBucket {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(ratePerSecond: number, burst: number, now: () => number) {
    this.#ratePerMs = ratePerSecond / 1000;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#updatedAt = now();
  }

  reserve(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#updatedAt) * this.#ratePerMs);
    this.#updatedAt = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens / this.#ratePerMs);
  }
}

/** A binary min-heap of (due time, key), in two parallel arrays. */
class MinHeap {
  #at: number[] = [];
  #keys: string[] = [];

  get size(): number {
    return this.#at.length;
  }

  peekAt(): number | undefined {
    return this.#at[0];
  }

  push(at: number, key: string): void {
    let i = this.#at.length;
    this.#at.push(at);
    this.#keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.#at[parent] as number) <= at) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  /** Removes the earliest entry and returns its key; only call when not empty. */
  pop(): string {
    const key = this.#keys[0] as string;
    const lastAt = this.#at.pop() as number;
    const lastKey = this.#keys.pop() as string;
    if (this.#at.length > 0) {
      this.#at[0] = lastAt;
      this.#keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < this.#at.length && (this.#at[left] as number) < (this.#at[smallest] as number))
          smallest = left;
        if (right < this.#at.length && (this.#at[right] as number) < (this.#at[smallest] as number))
          smallest = right;
        if (smallest === i) break;
        this.#swap(i, smallest);
        i = smallest;
      }
    }
    return key;
  }

  rebuild(entries: Map<string, number>): void {
    this.#at = [];
    this.#keys = [];
    for (const [key, at] of entries) this.push(at, key);
  }

  #swap(i: number, j: number): void {
    [this.#at[i], this.#at[j]] = [this.#at[j] as number, this.#at[i] as number];
    [this.#keys[i], this.#keys[j]] = [this.#keys[j] as string, this.#keys[i] as string];
  }
}
