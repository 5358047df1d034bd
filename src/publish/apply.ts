// Act once on the publication: server-side apply the ConfigMap when its content
// hash changed, delete it when withdrawn, and never touch one we do not own.
import {
  ApiException,
  type CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
  type V1ObjectMeta,
} from '@kubernetes/client-node';
import { fieldManager, integrationResource } from '../api/group.ts';
import type { PublishOutcome } from '../reconcile/evaluate.ts';
import { hashData, isOwnedBy, type Publication } from './configmap.ts';

/**
 * A ConfigMap as the operator keeps it, thousands of them: what ownership, the
 * owner's key and a content comparison need. A published document is kilobytes;
 * comparing its hash is all that is ever done with it.
 */
export interface ObservedConfigMap {
  metadata?: V1ObjectMeta;
  dataHash?: string;
}

export function observeConfigMap(cm: V1ConfigMap): ObservedConfigMap {
  const { name, namespace, uid, resourceVersion, ownerReferences } = cm.metadata ?? {};
  return {
    metadata: {
      name,
      namespace,
      uid,
      resourceVersion,
      ownerReferences: ownerReferences
        ?.filter((o) => o.kind === integrationResource.kind)
        .map(({ apiVersion, kind, name, uid }) => ({ apiVersion, kind, name, uid })),
    },
    ...(cm.data ? { dataHash: hashData(cm.data) } : {}),
  };
}

export type ConfigMapReader = (
  namespace: string,
  name: string,
) => Promise<ObservedConfigMap | undefined>;

export class ConfigMapPublisher {
  readonly #core: CoreV1Api;
  readonly #read: ConfigMapReader;
  writes = 0;

  constructor(core: CoreV1Api, read: ConfigMapReader) {
    this.#core = core;
    this.#read = read;
  }

  async publish(
    namespace: string,
    integrationUid: string,
    publication: Publication,
  ): Promise<PublishOutcome> {
    const existing = await this.#read(namespace, publication.configMapName);
    if (existing && !isOwnedBy(existing, integrationUid))
      return conflict(namespace, publication.configMapName);
    // Hash what is there, not what the annotation claims: a hand edit must be undone.
    if (existing?.dataHash === publication.contentHash) {
      return { state: 'published', publication };
    }
    try {
      this.writes++;
      await this.#core.patchNamespacedConfigMap(
        {
          namespace,
          name: publication.configMapName,
          fieldManager,
          force: true,
          body: publication.configMap,
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
      return { state: 'published', publication };
    } catch (error) {
      return {
        state: 'failed',
        message: `Could not write ConfigMap ${publication.configMapName}: ${describe(error)}`,
      };
    }
  }

  /** Deletes the ConfigMap if this integration owns it; returns what happened. */
  async withdraw(namespace: string, integrationUid: string, name: string): Promise<PublishOutcome> {
    const existing = await this.#read(namespace, name);
    if (!existing) return { state: 'withdrawn' };
    if (!isOwnedBy(existing, integrationUid)) return conflict(namespace, name);
    try {
      this.writes++;
      await this.#core.deleteNamespacedConfigMap({
        namespace,
        name,
        body: { preconditions: { uid: existing.metadata?.uid } },
      });
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 404)) {
        return {
          state: 'failed',
          message: `Could not withdraw ConfigMap ${name}: ${describe(error)}`,
        };
      }
    }
    return { state: 'withdrawn' };
  }
}

function conflict(namespace: string, name: string): PublishOutcome {
  return {
    state: 'conflict',
    message: `ConfigMap ${namespace}/${name} exists and is not owned by this integration, so it is left alone: delete or rename it, or set spec.configMapName to another name`,
  };
}

function describe(error: unknown): string {
  if (error instanceof ApiException) {
    try {
      return `${error.code} ${(JSON.parse(String(error.body)) as { message?: string }).message ?? ''}`.trim();
    } catch {
      return String(error.code);
    }
  }
  return (error as Error).message;
}
