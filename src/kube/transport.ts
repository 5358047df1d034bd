// client-node 2.0.1 builds a new undici Agent, so a new TLS connection and a new
// secure context, for every API request (KubeConfig.applySecurityAuthentication ->
// createDispatcher). At thousands of requests a minute that is a handshake each and
// hundreds of megabytes of native memory. Memoising the dispatcher per cluster and
// user gives keep-alive connections, as client-go has.
import type { KubeConfig } from '@kubernetes/client-node';

type CreateDispatcher = (
  cluster: { name?: string; server?: string } | null,
  agentOptions: object,
) => unknown;

const patched = new WeakSet<KubeConfig>();

export function shareConnections(kc: KubeConfig): KubeConfig {
  if (patched.has(kc)) return kc;
  const target = kc as unknown as { createDispatcher?: CreateDispatcher };
  const original = target.createDispatcher;
  // If a future client-node renames it, fall back to its own behaviour.
  if (typeof original !== 'function') return kc;
  const dispatchers = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = `${cluster?.name}\0${cluster?.server}\0${kc.getCurrentUser()?.name}`;
    if (!dispatchers.has(key)) dispatchers.set(key, original.call(kc, cluster, agentOptions));
    return dispatchers.get(key);
  };
  patched.add(kc);
  return kc;
}
