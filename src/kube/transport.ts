// How the operator's Kubernetes client talks to the API server (ADR 0010). client-node
// 2.0.1 makes each request through undici's fetch, on a new undici Agent, so a new TLS
// connection and secure context, per request (KubeConfig.applySecurityAuthentication ->
// createDispatcher), and HTTP/2 wherever the server offers it. Here the dispatcher is
// memoised per cluster and user, so connections stay alive as client-go's do; it speaks
// HTTP/1.1; and the generated API clients send through undici's request, not fetch.

import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import {
  type Configuration,
  createConfiguration,
  type KubeConfig,
  type RequestContext,
  ResponseContext,
  SelfDecodingBody,
  ServerConfiguration,
  setHeaderMiddleware,
  wrapHttpLibrary,
} from '@kubernetes/client-node';
import { Agent, type Dispatcher, request } from 'undici';

// Every watch holds a connection of its own under HTTP/1.1 (the operator runs five), so
// this leaves 11 for requests: the API server answers a write in a few milliseconds,
// so 11 carry far more than its two cores serve. Unbounded, the 5000-integration
// benchmark opened 99, about 80 KB of native memory each.
const apiServerConnections = 16;

type Cluster = { name?: string; server?: string } | null;
type KubeConfigInternals = {
  createDispatcher?: (cluster: Cluster, agentOptions: object) => unknown;
  createDispatcherOptions?: (
    cluster: Cluster,
    agentOptions: object,
  ) => { type: string; connect?: object };
};

const patched = new WeakSet<KubeConfig>();

export function shareConnections(kc: KubeConfig): KubeConfig {
  if (patched.has(kc)) return kc;
  const target = kc as unknown as KubeConfigInternals;
  const original = target.createDispatcher;
  const dispatcherOptions = target.createDispatcherOptions;
  // If a future client-node renames them, fall back to its own behaviour.
  if (typeof original !== 'function' || typeof dispatcherOptions !== 'function') return kc;
  const dispatchers = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = `${cluster?.name}\0${cluster?.server}\0${kc.getCurrentUser()?.name}`;
    if (!dispatchers.has(key)) {
      const options = dispatcherOptions.call(kc, cluster, agentOptions);
      // Proxies and SOCKS keep client-node's own dispatcher.
      dispatchers.set(
        key,
        options.type === 'agent'
          ? new Agent({
              connect: { ...options.connect, secureContext: sharedSecureContext(options.connect) },
              allowH2: false,
              connections: apiServerConnections,
            })
          : original.call(kc, cluster, agentOptions),
      );
    }
    return dispatchers.get(key);
  };
  patched.add(kc);
  return kc;
}

// Given only ca, cert and key, tls.connect builds a secure context per connection:
// about 25 KB each, and the CA parsed again at every connect.
function sharedSecureContext(connect: object | undefined): SecureContext {
  const { ca, cert, key, pfx, passphrase } = (connect ?? {}) as SecureContextOptions;
  return createSecureContext({ ca, cert, key, pfx, passphrase });
}

// fetch builds web streams, Headers and Request objects for every call: in the
// benchmark's ramp, client-node's calls allocated about 40 KB per request. The body is
// read at once, so the connection goes back to its pool.
const undiciRequests = wrapHttpLibrary({
  async send(context: RequestContext): Promise<ResponseContext> {
    const response = await request(context.getUrl(), {
      method: context.getHttpMethod() as Dispatcher.HttpMethod,
      headers: context.getHeaders(),
      // JSON or YAML text for every API the operator calls.
      body: context.getBody() as string | undefined,
      signal: context.getSignal(),
      dispatcher: context.getDispatcher(),
    });
    const body = Buffer.from(await response.body.arrayBuffer());
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    return new ResponseContext(
      response.statusCode,
      headers,
      new SelfDecodingBody(Promise.resolve(body)),
    );
  },
});

const userAgent = 'azure-openai-operator';

// KubeConfig.makeApiClient, on the connections above and undici's request.
export function makeApiClient<T>(kc: KubeConfig, api: new (configuration: Configuration) => T): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('The kubeconfig has no current cluster');
  return new api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: shareConnections(kc) },
      middleware: [setHeaderMiddleware('User-Agent', userAgent)],
      httpApi: undiciRequests,
    }),
  );
}
