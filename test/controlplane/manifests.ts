// Applies YAML manifests the way `kubectl apply --server-side` does, and waits
// for CustomResourceDefinitions to be served before anyone uses them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
} from '@kubernetes/client-node';

const fieldManager = 'test-harness';

export function readManifests(dir: string): KubernetesObject[] {
  return (
    readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .flatMap((f) => loadAllYaml(readFileSync(join(dir, f), 'utf8')) as KubernetesObject[])
      // A kustomization.yaml sits beside the manifests it lists; it is not an object to apply.
      .filter((o) => o?.kind && o.kind !== 'Kustomization')
  );
}

export async function applyManifests(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  for (const object of objects) {
    await client.patch(
      object,
      undefined,
      undefined,
      fieldManager,
      true,
      PatchStrategy.ServerSideApply,
    );
  }
  const crdNames = objects
    .filter((o) => o.kind === 'CustomResourceDefinition')
    .map((o) => o.metadata?.name ?? '');
  await waitForCrdsEstablished(kc, crdNames);
}

export async function applyManifestsIn(kc: KubeConfig, dir: string): Promise<void> {
  await applyManifests(kc, readManifests(dir));
}

export async function waitForCrdsEstablished(kc: KubeConfig, names: string[], timeoutMs = 30_000) {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      const established = crd.status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      );
      if (established) break;
      if (Date.now() > deadline)
        throw new Error(`CustomResourceDefinition ${name} was not established in time`);
      await sleep(50);
    }
  }
}
