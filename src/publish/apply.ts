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

/** The ConfigMaps this operator labelled, as its informer caches them. */
export type ConfigMapCache = (namespace: string, name: string) => ObservedConfigMap | undefined;

// A resourceVersion no object can have. As an apply's precondition it creates the
// ConfigMap when no object has the name and fails with 409 when one does, in one
// atomic request: a ConfigMap someone else made is never overwritten, and a first
// publication costs no read.
const absent = '18446744073709551615';

/** The server-side apply body of a publication; `ifAbsent` makes it create-only. */
export function configMapApplyBody(publication: Publication, ifAbsent = false): V1ConfigMap {
  const { configMap } = publication;
  return ifAbsent
    ? { ...configMap, metadata: { ...configMap.metadata, resourceVersion: absent } }
    : configMap;
}

export class ConfigMapPublisher {
  readonly #core: CoreV1Api;
  readonly #cached: ConfigMapCache;
  writes = 0;

  constructor(core: CoreV1Api, cached: ConfigMapCache) {
    this.#core = core;
    this.#cached = cached;
  }

  async publish(
    namespace: string,
    integrationUid: string,
    publication: Publication,
  ): Promise<PublishOutcome> {
    const name = publication.configMapName;
    let existing = this.#cached(namespace, name);
    // Not ours as far as the cache knows: create it, unless a ConfigMap has the name
    // (someone else's, or ours the watch has not shown yet); then read what is there.
    // Twice at most: it may be deleted between the attempt and the read.
    for (let attempt = 0; existing === undefined && attempt < 2; attempt++) {
      const created = await this.#apply(namespace, publication, true);
      if (created !== 'exists') return created;
      existing = await this.#read(namespace, name);
    }
    if (existing === undefined)
      return { state: 'failed', message: `ConfigMap ${name} kept changing while it was written` };
    if (!isOwnedBy(existing, integrationUid)) return conflict(namespace, name);
    // Hash what is there, not what the annotation claims: a hand edit must be undone.
    if (existing.dataHash === publication.contentHash) return { state: 'published', publication };
    return (await this.#apply(namespace, publication, false)) as PublishOutcome;
  }

  /** Deletes the ConfigMap if this integration owns it; returns what happened. */
  async withdraw(namespace: string, integrationUid: string, name: string): Promise<PublishOutcome> {
    const existing = this.#cached(namespace, name) ?? (await this.#read(namespace, name));
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

  async #apply(
    namespace: string,
    publication: Publication,
    ifAbsent: boolean,
  ): Promise<PublishOutcome | 'exists'> {
    try {
      this.writes++;
      await this.#core.patchNamespacedConfigMap(
        {
          namespace,
          name: publication.configMapName,
          fieldManager,
          force: true,
          body: configMapApplyBody(publication, ifAbsent),
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
      return { state: 'published', publication };
    } catch (error) {
      if (ifAbsent && error instanceof ApiException && error.code === 409) return 'exists';
      return {
        state: 'failed',
        message: `Could not write ConfigMap ${publication.configMapName}: ${describe(error)}`,
      };
    }
  }

  /** The ConfigMap as the API server has it, whoever labelled it. */
  async #read(namespace: string, name: string): Promise<ObservedConfigMap | undefined> {
    try {
      return observeConfigMap(await this.#core.readNamespacedConfigMap({ namespace, name }));
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
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
