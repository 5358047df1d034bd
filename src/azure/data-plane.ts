// Azure OpenAI data-plane probes. The bearer token is attached in exactly one
// place, `send`, right after the host allowlist check: a token never leaves for
// a host outside the endpoint's cloud, whatever the caller passed.
import { performance } from 'node:perf_hooks';
import { type Dispatcher, request } from 'undici';
import { ValidationFailure } from '../api/reasons.ts';
import { isAllowedOpenAIHost, type OpenAIEndpoint } from './clouds.ts';
import { connectionsPerEndpointHost } from './connect-to.ts';
import {
  classifyDataPlaneResponse,
  classifyNetworkError,
  type DataPlaneResponse,
  type FailureContext,
} from './errors.ts';
import { currentWork, HostQueue } from './host-queue.ts';
import type { AzureRequestCounter } from './request-metrics.ts';

export type ProbeStrategy = 'InvalidRequest' | 'MinimalCompletion';

/** The run that made the call was superseded by newer work: its answer would be moot. */
export class Superseded extends Error {
  override name = 'Superseded';
}

export interface DeploymentProbe {
  ready: boolean;
  failure?: ValidationFailure;
  model?: string;
  capability?: 'chat' | 'embeddings';
  latencyMs: number;
}

export class DataPlaneClient {
  readonly #dispatcher: Dispatcher;
  readonly #timeoutMs: number;
  readonly #requests: AzureRequestCounter | undefined;
  readonly #hosts: HostQueue;

  constructor(dispatcher: Dispatcher, timeoutMs: number, requests?: AzureRequestCounter) {
    this.#dispatcher = dispatcher;
    this.#timeoutMs = timeoutMs;
    this.#requests = requests;
    // As many calls at a time per host as the dispatcher has connections to it.
    this.#hosts = new HostQueue(connectionsPerEndpointHost);
  }

  /** Calls waiting for their host's connection: how far per-host throughput is the limit. */
  get waitingForHost(): number {
    return this.#hosts.waiting;
  }

  async send(
    endpoint: OpenAIEndpoint,
    method: 'GET' | 'POST',
    path: string,
    apiVersion: string,
    token: string,
    body?: unknown,
  ): Promise<DataPlaneResponse> {
    const url = new URL(path, endpoint.url);
    url.searchParams.set('api-version', apiVersion);
    if (
      url.protocol !== 'https:' ||
      url.host !== endpoint.host ||
      !isAllowedOpenAIHost(url.hostname, endpoint.cloud)
    ) {
      throw new ValidationFailure(
        'EndpointNotAllowed',
        `Refusing to send a token to ${url.host}: not an Azure OpenAI host of ${endpoint.cloud.name}`,
      );
    }
    // A timer cleared on completion: AbortSignal.timeout's outlives the request and
    // fires later for every one, building a DOMException with a stack each time. The
    // time waiting for the host counts: a call takes at most the timeout in all.
    const superseded = currentWork.getStore()?.superseded;
    const moot = () => new Superseded(`A call to ${endpoint.host} was superseded`);
    if (superseded?.aborted) throw moot();
    const aborter = new AbortController();
    const timer = setTimeout(
      () => aborter.abort(new DOMException('The operation timed out', 'TimeoutError')),
      this.#timeoutMs,
    );
    const stop = () => aborter.abort(superseded?.reason);
    superseded?.addEventListener('abort', stop, { once: true });
    let release: (() => void) | undefined;
    try {
      release = await this.#hosts.acquire(endpoint.host, aborter.signal);
      const response = await request(url, {
        method,
        dispatcher: this.#dispatcher,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          'user-agent': 'azure-openai-operator',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        signal: aborter.signal,
      });
      const text = await response.body.text();
      this.#requests?.response('openai', response.statusCode);
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Throttling and gateway errors may be plain text.
      }
      return { status: response.statusCode, headers: response.headers, body: parsed };
    } catch (error) {
      if (superseded?.aborted) throw moot();
      this.#requests?.failure('openai', error);
      // Only the timeout ends a wait for the host.
      if (release === undefined)
        throw new ValidationFailure(
          'Timeout',
          `${endpoint.host} did not answer in time: this call waited ${Math.round(this.#timeoutMs / 1000)} s behind others to the same host; retrying`,
        );
      throw (
        classifyNetworkError(error, endpoint.host) ??
        new ValidationFailure(
          'ConnectionFailed',
          `${endpoint.host} could not be reached: ${(error as Error).message}`,
          { cause: error },
        )
      );
    } finally {
      clearTimeout(timer);
      superseded?.removeEventListener('abort', stop);
      release?.();
    }
  }

  /**
   * InvalidRequest: a chat request with no messages passes network, token, role and
   * deployment checks, then fails validation with 400 before any token is spent.
   * An embeddings deployment answers OperationNotSupported; it is then probed with
   * an empty embeddings input the same way. MinimalCompletion spends one token.
   */
  async probeDeployment(
    endpoint: OpenAIEndpoint,
    deployment: string,
    apiVersion: string,
    token: string,
    strategy: ProbeStrategy,
    ctx: FailureContext,
  ): Promise<DeploymentProbe> {
    const started = performance.now();
    const deploymentCtx = { ...ctx, deployment };
    const path = (operation: string) =>
      `/openai/deployments/${encodeURIComponent(deployment)}/${operation}`;
    const chatBody =
      strategy === 'InvalidRequest'
        ? { messages: [] }
        : { messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 };
    let capability: 'chat' | 'embeddings' = 'chat';
    let response = await this.send(
      endpoint,
      'POST',
      path('chat/completions'),
      apiVersion,
      token,
      chatBody,
    );
    if (errorCode(response) === 'OperationNotSupported') {
      capability = 'embeddings';
      const embeddingsBody = strategy === 'InvalidRequest' ? { input: [] } : { input: 'ping' };
      response = await this.send(
        endpoint,
        'POST',
        path('embeddings'),
        apiVersion,
        token,
        embeddingsBody,
      );
    }
    const latencyMs = Math.round(performance.now() - started);
    const failure = classifyDataPlaneResponse(response, deploymentCtx);
    if (failure) return { ready: false, failure, latencyMs };
    const ok = response.status === 200 || (response.status === 400 && isValidationError(response));
    if (!ok) {
      return {
        ready: false,
        failure: new ValidationFailure(
          'DeploymentNotUsable',
          `Deployment ${deployment} of ${endpoint.host} answered ${response.status} to the probe`,
        ),
        latencyMs,
      };
    }
    const model = (response.body as { model?: unknown })?.model;
    return { ready: true, capability, latencyMs, ...(typeof model === 'string' ? { model } : {}) };
  }
}

function errorCode(response: DataPlaneResponse): string | undefined {
  const code = (response.body as { error?: { code?: unknown } } | null)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

// The request body was rejected after every access check passed.
function isValidationError(response: DataPlaneResponse): boolean {
  const error = (response.body as { error?: { type?: unknown; code?: unknown } } | null)?.error;
  return (
    error?.type === 'invalid_request_error' || error?.code === 'BadRequest' || error?.code === null
  );
}
