// The operator's Kubernetes identity exactly as deploy/ ships it: its
// ServiceAccount and RBAC rendered with kubectl kustomize, installed for a given
// namespace, and a kubeconfig holding a token minted for it.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig, type KubernetesObject, loadAllYaml } from '@kubernetes/client-node';
import { binaryPath, moduleDir } from '../controlplane/binaries.ts';
import { applyManifests } from '../controlplane/manifests.ts';

export const deployDir = join(moduleDir, '..', '..', 'deploy');

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

interface RenderedObject extends KubernetesObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
  roleRef?: { name: string };
  subjects?: Array<{ namespace?: string }>;
}

const rbacKinds = new Set([
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
]);

export interface OperatorIdentity {
  kubeConfig: KubeConfig;
  username: string;
  /** Every rule deploy/ grants, cluster-wide and in the operator namespace. */
  granted: PolicyRule[];
}

/**
 * Installs deploy/'s ServiceAccount and RBAC into `namespace` (cluster-scoped names get
 * `suffix`, so several copies can coexist) and returns a client that acts as it.
 */
export async function installOperatorIdentity(
  admin: KubeConfig,
  namespace: string,
  suffix?: string,
): Promise<OperatorIdentity> {
  const { stdout } = await promisify(execFile)(binaryPath('kubectl'), ['kustomize', deployDir], {
    maxBuffer: 16 << 20,
  });
  const objects = (loadAllYaml(stdout) as RenderedObject[])
    .filter((o) => rbacKinds.has(o.kind))
    .map((o) => {
      const copy = structuredClone(o);
      if (copy.metadata.namespace) copy.metadata.namespace = namespace;
      if (suffix && copy.kind.startsWith('Cluster'))
        copy.metadata.name = `${copy.metadata.name}-${suffix}`;
      if (suffix && copy.kind === 'ClusterRoleBinding' && copy.roleRef)
        copy.roleRef.name = `${copy.roleRef.name}-${suffix}`;
      for (const subject of copy.subjects ?? []) subject.namespace = namespace;
      return copy;
    });
  await applyManifests(admin, objects);
  const serviceAccount = objects.find((o) => o.kind === 'ServiceAccount')?.metadata.name;
  if (!serviceAccount) throw new Error('deploy/ has no ServiceAccount');
  const tokenRequest = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    namespace,
    name: serviceAccount,
    body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } },
  });
  const token = tokenRequest.status?.token;
  const cluster = admin.getCurrentCluster();
  if (!token || !cluster) throw new Error('Could not mint a token for the operator ServiceAccount');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'operator', token }],
    contexts: [{ name: 'operator', cluster: cluster.name, user: 'operator' }],
    currentContext: 'operator',
  });
  return {
    kubeConfig,
    username: `system:serviceaccount:${namespace}:${serviceAccount}`,
    granted: objects
      .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
      .flatMap((o) => o.rules ?? []),
  };
}
