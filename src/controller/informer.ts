// client-node's informer, wrapped against its known failure modes
// (KUBERNETES-FACTS.md): after any error but 410 it stops for good, start()
// resolves even when the first list failed, stop() emits an AbortError, and a
// throwing handler becomes an unhandled rejection. This wrapper restarts it with
// capped, jittered backoff (one restart pending at most), ignores errors while
// stopping, guards handlers, and is ready only after a list that succeeded.
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
} from '@kubernetes/client-node';
import type { Logger } from '../log.ts';

export interface InformerHandlers<T> {
  add?(object: T): void;
  update?(object: T, previous: T | undefined): void;
  delete?(object: T): void;
}

export class ResilientInformer<T extends KubernetesObject> {
  readonly #create: () => ReturnType<typeof makeInformer<T>>;
  readonly #log: Logger;
  #informer: ReturnType<typeof makeInformer<T>> | undefined;
  #handlers: InformerHandlers<T> = {};
  #ready = false;
  #stopping = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #known = new Map<string, T>();
  restarts = 0;

  constructor(
    name: string,
    kc: KubeConfig,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    log: Logger,
    labelSelector?: string,
  ) {
    this.#log = log.child({ informer: name });
    // The list must honour the selector too: client-node applies it to the watch only.
    this.#create = () => makeInformer<T>(kc, path, list, labelSelector);
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
    await this.#startOnce();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    await this.#informer?.stop().catch(() => {});
  }

  async #startOnce(): Promise<void> {
    const informer = this.#create();
    this.#informer = informer;
    const guard =
      (what: string, fn: ((o: T) => void) | undefined) =>
      (object: T): void => {
        try {
          fn?.(object);
        } catch (error) {
          this.#log.error({ err: error }, `Informer ${what} handler failed`);
        }
      };
    informer.on(
      'add',
      guard('add', (o) => {
        const key = keyOf(o);
        const previous = this.#known.get(key);
        this.#known.set(key, o);
        // A relist replays objects as adds: present them as updates when we knew them.
        if (previous) this.#handlers.update?.(o, previous);
        else this.#handlers.add?.(o);
      }),
    );
    informer.on(
      'update',
      guard('update', (o) => {
        const key = keyOf(o);
        const previous = this.#known.get(key);
        this.#known.set(key, o);
        this.#handlers.update?.(o, previous);
      }),
    );
    informer.on(
      'delete',
      guard('delete', (o) => {
        this.#known.delete(keyOf(o));
        this.#handlers.delete?.(o);
      }),
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

export function keyOf(object: KubernetesObject): string {
  const { namespace, name } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : `${name}`;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
