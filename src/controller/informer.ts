// client-node's informer, wrapped against its known failure modes
// (KUBERNETES-FACTS.md): after any error but 410 it stops for good, start()
// resolves even when the first list failed, stop() emits an AbortError, and a
// throwing handler becomes an unhandled rejection. This wrapper restarts it with
// capped, jittered backoff (one restart pending at most), ignores errors while
// stopping, guards handlers, and is ready only after a list that succeeded.
//
// A restarted informer starts from its predecessor's cache, so its first list is
// compared with what was known, as client-go's Replace does: an object deleted while
// no watch ran is reported deleted, a changed one updated, an unchanged one not at all.
// Update handlers get the object an event replaces, read from the cache just before.
//
// A watchdog catches the silent stall: a list or watch request that hangs (a
// half-open connection, a wedged proxy) emits nothing at all. Signs of life are a
// list that succeeded, a watch the server accepted and any event; bookmarks are
// requested, and the watch (src/kube/watch.ts) opens again after 30 s without a
// byte, so a healthy informer shows life at least that often. With none for
// `staleAfterMs` the informer is replaced by a fresh one, which lists again.
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
} from '@kubernetes/client-node';
import { StreamingWatch } from '../kube/watch.ts';
import type { Logger } from '../log.ts';
import { internStrings, StringPool } from './string-pool.ts';

export interface InformerHandlers<T> {
  add?(object: T): void;
  update?(object: T, previous: T | undefined): void;
  delete?(object: T): void;
}

export interface InformerOptions {
  /** The list must honour the selector too: client-node applies it to the watch only. */
  labelSelector?: string;
  staleAfterMs?: number;
  /** Slims each object in place on arrival, before it is cached (managedFields are always dropped). */
  slim?: (object: KubernetesObject) => void;
}

export class ResilientInformer<T extends KubernetesObject> {
  readonly #create: () => ListWatch<T>;
  readonly #log: Logger;
  readonly #staleAfterMs: number;
  #informer: ListWatch<T> | undefined;
  #handlers: InformerHandlers<T> = {};
  #ready = false;
  #stopping = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  // What the next update replaces: the cached object a watch event is about to
  // overwrite, or, while a list is applied, the cache as it was before.
  #replacedByEvent: { object: KubernetesObject; previous: T | undefined } | undefined;
  #replacedByList: CacheMap<T> | undefined;
  #lastSignOfLife = Date.now();
  #watchdog: NodeJS.Timeout | undefined;
  #replaced: () => void = () => {};
  restarts = 0;
  staleRestarts = 0;

  constructor(
    name: string,
    kc: KubeConfig,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    log: Logger,
    options: InformerOptions = {},
  ) {
    this.#log = log.child({ informer: name });
    this.#staleAfterMs = options.staleAfterMs ?? 5 * 60_000;
    const slim = (object: KubernetesObject | undefined) => {
      if (!object) return;
      trim(object);
      options.slim?.(object);
      internStrings(object, cachedStrings);
    };
    this.#create = () => {
      let informer: ListWatch<T> | undefined;
      const alive = () => {
        if (informer === this.#informer) this.#lastSignOfLife = Date.now();
      };
      const arriving = (object: KubernetesObject) => {
        slim(object);
        const { name, namespace } = object.metadata ?? {};
        this.#replacedByEvent = { object, previous: informer?.get(name ?? '', namespace) };
      };
      informer = new ListWatch<T>(
        path,
        new StreamingWatch(kc, { alive, slim: arriving }),
        async () => {
          const result = await list();
          alive();
          for (const item of result.items) slim(item);
          // ListWatch applies the list to its cache as soon as this returns.
          if (informer && informer === this.#informer) {
            this.#replacedByList = copyCache(cacheOf(informer));
            setImmediate(() => {
              this.#replacedByList = undefined;
            });
          }
          return result;
        },
        false,
        options.labelSelector,
      );
      // Start from what the predecessor knew; a copy, as a stalled one may still write to its own.
      const predecessor = this.#informer;
      if (predecessor) setCache(informer, copyCache(cacheOf(predecessor)));
      return informer;
    };
  }

  get ready(): boolean {
    return this.#ready;
  }

  list(): readonly T[] {
    return this.#informer?.list() ?? [];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#informer?.get(name, namespace);
  }

  async start(handlers: InformerHandlers<T>): Promise<void> {
    this.#handlers = handlers;
    this.#watchdog = setInterval(
      () => this.#checkStaleness(),
      Math.min(this.#staleAfterMs / 4, 30_000),
    ).unref();
    // A first list that hangs must not hold the caller: its replacement carries on.
    await Promise.race([
      this.#startOnce(),
      new Promise<void>((resolve) => {
        this.#replaced = resolve;
      }),
    ]);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#watchdog);
    clearTimeout(this.#restartTimer);
    await this.#informer?.stop().catch(() => {});
  }

  async #startOnce(): Promise<void> {
    const informer = this.#create();
    this.#informer = informer;
    this.#lastSignOfLife = Date.now();
    const guard =
      (what: string, fn: ((o: T) => void) | undefined) =>
      (object: T): void => {
        // A replaced informer's hung list may still complete: it is not ours any more.
        if (informer !== this.#informer) return;
        try {
          fn?.(object);
        } catch (error) {
          this.#log.error({ err: error }, `Informer ${what} handler failed`);
        } finally {
          this.#replacedByEvent = undefined;
        }
      };
    informer.on(
      'add',
      guard('add', (o) => this.#handlers.add?.(o)),
    );
    informer.on(
      'update',
      guard('update', (o) => this.#handlers.update?.(o, this.#previousOf(o))),
    );
    informer.on(
      'delete',
      guard('delete', (o) => this.#handlers.delete?.(o)),
    );
    informer.on('error', (error) => {
      if (this.#stopping || informer !== this.#informer) return;
      this.#ready = false;
      this.#scheduleRestart(error);
    });
    informer.on('connect', () => {
      this.#failures = 0;
    });
    try {
      await informer.start();
      if (informer === this.#informer && !this.#stopping && this.#restartTimer === undefined)
        this.#ready = true;
    } catch (error) {
      this.#scheduleRestart(error);
    }
  }

  /** The object `o` replaced in the cache, if it was known. */
  #previousOf(o: T): T | undefined {
    const event = this.#replacedByEvent;
    if (event?.object === o) return event.previous;
    const { name = '', namespace = '' } = o.metadata ?? {};
    return this.#replacedByList?.get(namespace)?.get(name);
  }

  #checkStaleness(): void {
    if (this.#stopping || this.#restartTimer !== undefined) return;
    const silentMs = Date.now() - this.#lastSignOfLife;
    if (silentMs < this.#staleAfterMs) return;
    this.#log.warn({ silentMs }, 'Informer silent for too long, listing again');
    this.staleRestarts++;
    this.#ready = false;
    const old = this.#informer;
    // Replace first, so nothing the stalled one delivers later is taken for current.
    void this.#startOnce();
    void old?.stop().catch(() => {});
    this.#replaced();
  }

  #scheduleRestart(error: unknown): void {
    if (this.#stopping || this.#restartTimer !== undefined) return;
    this.#failures++;
    const capMs = 30_000;
    const delay =
      Math.min(capMs, 200 * 2 ** Math.min(this.#failures, 10)) * (0.5 + Math.random() / 2);
    this.#log.warn(
      { err: describe(error), delayMs: Math.round(delay) },
      'Informer failed, restarting',
    );
    const old = this.#informer;
    this.#restartTimer = setTimeout(async () => {
      this.#restartTimer = undefined;
      this.restarts++;
      await old?.stop().catch(() => {});
      if (!this.#stopping) await this.#startOnce();
    }, delay);
  }
}

// What an informer keeps of an object. managedFields are often its largest part,
// and kubectl's last-applied annotation a second copy of it (for a Secret, its
// data in clear): nothing here reads either, so they are dropped on arrival.
const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

export function trim(object: KubernetesObject | undefined): void {
  const metadata = object?.metadata;
  if (!metadata) return;
  if (metadata.managedFields) metadata.managedFields = undefined;
  if (metadata.annotations?.[lastAppliedAnnotation] !== undefined) {
    const { [lastAppliedAnnotation]: _, ...others } = metadata.annotations;
    metadata.annotations = Object.keys(others).length > 0 ? others : undefined;
  }
}

// ListWatch's cache, by namespace then name. It is private in client-node's types;
// if a later version renames it, a restarted informer starts empty and reports
// every object as added, as it did before.
type CacheMap<T> = Map<string, Map<string, T>>;

function cacheOf<T>(informer: ListWatch<T & KubernetesObject>): CacheMap<T> | undefined {
  const objects = (informer as unknown as { objects?: unknown }).objects;
  return objects instanceof Map ? (objects as CacheMap<T>) : undefined;
}

function setCache<T>(informer: ListWatch<T & KubernetesObject>, cache: CacheMap<T> | undefined) {
  if (cache && cacheOf(informer)) (informer as unknown as { objects: CacheMap<T> }).objects = cache;
}

function copyCache<T>(cache: CacheMap<T> | undefined): CacheMap<T> | undefined {
  return cache && new Map([...cache].map(([namespace, objects]) => [namespace, new Map(objects)]));
}

// One pool for every informer: an owner reference repeats the owner's kind and apiVersion.
const cachedStrings = new StringPool();

export function keyOf(object: KubernetesObject): string {
  const { namespace, name } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : `${name}`;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
