// A watch on undici's request, for client-node's ListWatch. client-node's own Watch
// reads each stream through fetch, a web stream, Readable.fromWeb and readline: in
// the benchmark's ramp that was a tenth of the operator's CPU (docs/BENCHMARKS.md).
// This one splits the body into lines itself, and keeps the contract ListWatch
// relies on: `done` once per watch, an error with `statusCode` for a refused watch
// (410 makes it list again), and one named TimeoutError after 30 s without a byte,
// upon which it reconnects from the last resourceVersion at once.
import {
  HttpMethod,
  type KubeConfig,
  type KubernetesObject,
  RequestContext,
  Watch,
} from '@kubernetes/client-node';
import { type Dispatcher, errors, request } from 'undici';

export interface StreamingWatchOptions {
  /** Called for every watch the server accepted and every event: signs of life. */
  alive?: () => void;
  /** Called on each object before the informer sees it. */
  slim?: (object: KubernetesObject) => void;
  /** Without a byte for this long the watch is closed and opened again. */
  idleTimeoutMs?: number;
}

type WatchCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;
type DoneCallback = (err: unknown) => void;

export class StreamingWatch extends Watch {
  readonly #alive: () => void;
  readonly #slim: (object: KubernetesObject) => void;
  readonly #idleTimeoutMs: number;

  constructor(kc: KubeConfig, options: StreamingWatchOptions = {}) {
    super(kc);
    this.#alive = options.alive ?? (() => {});
    this.#slim = options.slim ?? (() => {});
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  }

  override async watch(
    path: string,
    queryParams: Record<string, unknown>,
    callback: WatchCallback,
    done: DoneCallback,
  ): Promise<AbortController> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('The kubeconfig has no current cluster');
    const url = new URL(cluster.server + path);
    url.searchParams.set('watch', 'true');
    // Bookmarks keep a quiet watch's resourceVersion fresh, so a reconnect rarely meets 410.
    url.searchParams.set('allowWatchBookmarks', 'true');
    for (const [key, value] of Object.entries(queryParams)) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    const context = new RequestContext(url.toString(), HttpMethod.GET);
    await this.config.applySecurityAuthentication(context);

    const controller = new AbortController();
    let finished = false;
    const finish = (error: unknown) => {
      if (finished) return;
      finished = true;
      // Stopped by the caller (ListWatch.stop, or a restart): nothing to report.
      if (controller.signal.aborted) return;
      controller.abort();
      done(error);
    };
    try {
      const response = await request(url, {
        method: 'GET',
        headers: context.getHeaders(),
        dispatcher: context.getDispatcher() as Dispatcher | undefined,
        signal: controller.signal,
        headersTimeout: this.#idleTimeoutMs,
        bodyTimeout: this.#idleTimeoutMs,
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        throw Object.assign(new Error(`Watch of ${path} refused: ${response.statusCode}`), {
          statusCode: response.statusCode,
        });
      }
      this.#alive();
      const body = response.body;
      body.setEncoding('utf8');
      let partial = '';
      body.on('data', (chunk: string) => {
        let start = 0;
        let end = chunk.indexOf('\n');
        while (end !== -1) {
          const line = partial + chunk.slice(start, end);
          partial = '';
          if (line.length > 0) this.#deliver(line, callback);
          start = end + 1;
          end = chunk.indexOf('\n', start);
        }
        partial += chunk.slice(start);
      });
      body.once('end', () => finish(null));
      body.once('error', (error) => finish(asWatchError(error)));
      body.once('close', () => finish(null));
    } catch (error) {
      finish(asWatchError(error));
    }
    return controller;
  }

  #deliver(line: string, callback: WatchCallback): void {
    let event: { type?: string; object?: KubernetesObject };
    try {
      event = JSON.parse(line);
    } catch {
      // As client-node's Watch: a line that is not JSON is not an event.
      return;
    }
    this.#alive();
    if (event.object && event.type !== 'ERROR') this.#slim(event.object);
    callback(event.type ?? '', event.object, event);
  }
}

// ListWatch reconnects at once after a TimeoutError and backs off after anything else.
function asWatchError(error: unknown): unknown {
  if (error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError) {
    return new DOMException('The watch was idle for too long', 'TimeoutError');
  }
  return error;
}
