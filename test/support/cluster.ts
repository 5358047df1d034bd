// Test access to the shared control plane that test/global-setup.ts starts once
// per `npm test`, and a namespace per test so tests never see each other's objects.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { type AuditEvent, readAuditEvents } from '../controlplane/controlplane.ts';

export interface SharedCluster {
  kubeconfigPath: string;
  auditLogPath: string;
  serviceAccountPublicKeyPath: string;
  kubeConfig(): KubeConfig;
  auditEvents(): AuditEvent[];
}

export function sharedCluster(): SharedCluster {
  const kubeconfigPath = process.env.TEST_KUBECONFIG;
  const auditLogPath = process.env.TEST_AUDIT_LOG;
  const publicKeyPath = process.env.TEST_SA_PUBLIC_KEY;
  if (!kubeconfigPath || !auditLogPath || !publicKeyPath) {
    throw new Error(
      'No shared control plane: run the tests with `npm test`, which starts it (test/global-setup.ts)',
    );
  }
  return {
    kubeconfigPath,
    auditLogPath,
    serviceAccountPublicKeyPath: publicKeyPath,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      return kc;
    },
    auditEvents: () => readAuditEvents(auditLogPath),
  };
}

/** What owns test resources: a TestContext, or a suite (its name and the `after` hook). */
export interface Scope {
  name: string;
  after(fn: () => unknown): void;
}

/** Creates a namespace for this test (or suite) and deletes it when that ends. */
export async function testNamespace(t: Scope, kc: KubeConfig, labels: Record<string, string> = {}) {
  const slug = t.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
  const name = `${slug || 'test'}-${randomBytes(3).toString('hex')}`;
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({
    body: { metadata: { name, labels: { 'test.runwhen.com/suite': 'true', ...labels } } },
  });
  t.after(async () => {
    await core.deleteNamespace({ name }).catch(() => {});
  });
  return name;
}
