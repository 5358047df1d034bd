// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules:
// a lease is taken over only when its holder has not renewed it for a whole
// lease duration as observed by this process (never by comparing clocks), writes
// are conditional on resourceVersion, a leader that cannot renew within the renew
// deadline steps down, and a leader that stops releases the lease so a follower
// takes over at once.
import { ApiException, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';

/**
 * A Date that serialises as metav1.MicroTime: client-node writes Dates with
 * toISOString (milliseconds), which the API server refuses for MicroTime fields.
 */
export function microTime(date: Date = new Date()): Date {
  const text = date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  return Object.assign(new Date(date), { toISOString: () => text, toJSON: () => text });
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export class LeaderElector {
  readonly #api: CoordinationV1Api;
  readonly #options: LeaderElectionOptions;
  readonly #log: Logger;
  #leading = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #lastRenew = 0;
  // What we last saw of someone else's lease, and when we saw it change.
  #observed: { holder: string; renewTime: string; at: number } | undefined;
  #onStarted: () => void = () => {};
  #onStopped: () => void = () => {};

  constructor(api: CoordinationV1Api, options: LeaderElectionOptions, log: Logger) {
    this.#api = api;
    this.#options = options;
    this.#log = log.child({
      lease: `${options.namespace}/${options.name}`,
      identity: options.identity,
    });
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  start(onStartedLeading: () => void, onStoppedLeading: () => void): void {
    this.#onStarted = onStartedLeading;
    this.#onStopped = onStoppedLeading;
    void this.#tick();
  }

  /** Stops campaigning; a leader releases the lease so a follower need not wait for it to expire. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (!this.#leading) return;
    this.#leading = false;
    try {
      const lease = await this.#read();
      if (lease?.spec?.holderIdentity === this.#options.identity) {
        lease.spec = {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: microTime(),
        };
        await this.#api.replaceNamespacedLease({
          namespace: this.#options.namespace,
          name: this.#options.name,
          body: lease,
        });
        this.#log.info('Released the leader lease');
      }
    } catch (error) {
      this.#log.warn({ err: error }, 'Could not release the leader lease');
    }
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    try {
      const acquired = await this.#tryAcquireOrRenew();
      if (acquired) {
        this.#lastRenew = Date.now();
        if (!this.#leading) {
          this.#leading = true;
          this.#log.info('Became the leader');
          this.#onStarted();
        }
      }
    } catch (error) {
      this.#log.warn({ err: error }, 'Leader lease request failed');
    }
    if (this.#leading && Date.now() - this.#lastRenew > this.#options.renewDeadlineMs) {
      this.#leading = false;
      this.#log.error('Could not renew the leader lease within the renew deadline, stepping down');
      this.#onStopped();
    }
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#tick(), this.#jittered());
  }

  #jittered(): number {
    // Followers retry with jitter so they do not stampede a released lease.
    return this.#leading
      ? this.#options.retryPeriodMs
      : this.#options.retryPeriodMs * (1 + Math.random() * 0.2);
  }

  async #read(): Promise<V1Lease | undefined> {
    try {
      return await this.#api.readNamespacedLease({
        namespace: this.#options.namespace,
        name: this.#options.name,
      });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.#options;
    const now = microTime();
    const leaseDurationSeconds = Math.ceil(this.#options.leaseDurationMs / 1000);
    const lease = await this.#read();
    if (!lease) {
      await this.#api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = spec.renewTime ? new Date(spec.renewTime).toISOString() : '';
    if (holder && holder !== identity) {
      if (
        !this.#observed ||
        this.#observed.holder !== holder ||
        this.#observed.renewTime !== renewTime
      ) {
        this.#observed = { holder, renewTime, at: Date.now() };
      }
      const durationMs = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      if (Date.now() - this.#observed.at < durationMs) return false;
    }
    const takingOver = holder !== identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: now,
      ...(takingOver
        ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }
        : {}),
    };
    try {
      // Conditional on the resourceVersion we read: two contenders cannot both win.
      await this.#api.replaceNamespacedLease({ namespace, name, body: lease });
      return true;
    } catch (error) {
      if (error instanceof ApiException && error.code === 409) return false;
      throw error;
    }
  }
}
