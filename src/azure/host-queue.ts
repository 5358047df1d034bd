// One data-plane request at a time per customer host, the calls of an edit first.
// The operator holds one connection per host (ADR 0009): thousands of hosts, each
// TLS connection about 84 KB. Left to undici, an edit's probes would wait behind
// every re-validation queued on that connection; here they go first, as the work
// queue's urgent lane goes before its routine one.
import { AsyncLocalStorage } from 'node:async_hooks';

/** Work started from an edit or another watch event, not from periodic re-validation. */
export const urgentWork = new AsyncLocalStorage<true>();

type Waiting = { urgent: Array<() => void>; routine: Array<() => void>; running: number };

export class HostQueue {
  readonly #perHost: number;
  readonly #hosts = new Map<string, Waiting>();

  constructor(perHost: number) {
    this.#perHost = perHost;
  }

  /** Resolves when the host is free for this call; the returned function frees it again. */
  async acquire(host: string): Promise<() => void> {
    const entry = this.#hosts.get(host) ?? { urgent: [], routine: [], running: 0 };
    this.#hosts.set(host, entry);
    if (entry.running < this.#perHost) entry.running++;
    else
      await new Promise<void>((resolve) =>
        (urgentWork.getStore() ? entry.urgent : entry.routine).push(resolve),
      );
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot passes to the next call, urgent first, without being given up.
      const next = entry.urgent.shift() ?? entry.routine.shift();
      if (next) next();
      else if (--entry.running === 0) this.#hosts.delete(host);
    };
  }

  /** Hosts with a call running or waiting. */
  get busyHosts(): number {
    return this.#hosts.size;
  }
}
