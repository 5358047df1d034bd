// One data-plane request at a time per customer host, the calls of an edit first.
// The operator holds one connection per host (ADR 0009): thousands of hosts, each
// TLS connection about 84 KB. Left to undici, an edit's probes would wait behind
// every re-validation queued on that connection; here they go first, as the work
// queue's urgent lane goes before its routine one. A call waits no longer than its
// signal allows: behind a host that hangs, each call would otherwise wait for every
// call ahead of it to time out in turn.
import { AsyncLocalStorage } from 'node:async_hooks';

/** What a reconcile's Azure calls know of the work that runs them. */
export interface Work {
  /** Started from an edit or another watch event, not from periodic re-validation. */
  urgent: boolean;
  /** Aborts when newer work for the same integration makes this run's calls moot. */
  superseded?: AbortSignal;
}

export const currentWork = new AsyncLocalStorage<Work>();

type Waiting = { urgent: Array<() => void>; routine: Array<() => void>; running: number };

export class HostQueue {
  readonly #perHost: number;
  readonly #hosts = new Map<string, Waiting>();

  constructor(perHost: number) {
    this.#perHost = perHost;
  }

  /**
   * Resolves when the host is free for this call; the returned function frees it again.
   * Rejects with the signal's reason if it aborts first, and the call leaves the queue.
   */
  async acquire(host: string, signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    const entry = this.#hosts.get(host) ?? { urgent: [], routine: [], running: 0 };
    this.#hosts.set(host, entry);
    if (entry.running < this.#perHost) entry.running++;
    else {
      const lane = currentWork.getStore()?.urgent ? entry.urgent : entry.routine;
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          lane.splice(lane.indexOf(admit), 1);
          reject(signal?.reason);
        };
        const admit = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        lane.push(admit);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
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

  /** Calls waiting for their host, all hosts together. */
  get waiting(): number {
    let count = 0;
    for (const entry of this.#hosts.values()) count += entry.urgent.length + entry.routine.length;
    return count;
  }
}
