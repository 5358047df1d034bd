// Thin entry, ordered steps: load, handle deletion, ensure the finalizer, honour
// suspend, then observe (Azure), decide (pure), act (ConfigMap, status, Events).
import { randomUUID } from 'node:crypto';
import {
  ApiException,
  type CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { finalizer, integrationResource } from '../api/group.ts';
import type { Integration } from '../api/integration.ts';
import type { EventRecorder } from '../kube/events.ts';
import { type StatusWriter, statusNeedsWrite } from '../kube/status-writer.ts';
import type { Logger } from '../log.ts';
import type { ConfigMapPublisher } from '../publish/apply.ts';
import { buildPublication, defaultConfigMapName } from '../publish/configmap.ts';
import { nextStatus, type Policy, type PublishOutcome, plan } from './evaluate.ts';
import { type ObserveDeps, observe } from './observe.ts';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface ReconcilerDeps extends ObserveDeps {
  getIntegration(namespace: string, name: string): Integration | undefined;
  customObjects: CustomObjectsApi;
  statusWriter: StatusWriter;
  events: EventRecorder;
  publisher: ConfigMapPublisher;
  policy: Policy;
  log: Logger;
}

export class IntegrationReconciler {
  readonly #deps: ReconcilerDeps;

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const deps = this.#deps;
    const log = deps.log.child({ namespace, name, reconcileId: randomUUID().slice(0, 8) });
    let integration = deps.getIntegration(namespace, name);
    if (!integration) return {};

    if (integration.metadata.deletionTimestamp) {
      await this.#finalize(integration, log);
      return {};
    }
    if (!integration.metadata.finalizers?.includes(finalizer)) {
      // Carry on with the patched object: a second pass would only cost a queue round trip.
      const patched = await this.#patchFinalizers(integration, [
        ...(integration.metadata.finalizers ?? []),
        finalizer,
      ]);
      if (!patched) return {};
      integration = patched;
    }
    if ((integration.spec as { suspend?: unknown })?.suspend === true) {
      log.debug('Suspended, skipping validation');
      return {};
    }

    const { observation, spec } = await observe(
      { namespace, generation: integration.metadata.generation, spec: integration.spec },
      deps,
    );
    const previous = integration.status;
    const decided = plan(observation, previous, deps.policy);
    const configMapName =
      spec?.configMapName ?? previous?.publication?.configMapName ?? defaultConfigMapName(name);

    let outcome: PublishOutcome;
    if (decided.publish.action === 'apply' && spec && observation.identity) {
      const publication = buildPublication({
        integration: { name, namespace, uid: integration.metadata.uid },
        configMapName,
        endpointUrl: spec.endpoint.url,
        tenantId: spec.tenantId,
        clientId: observation.identity.clientId,
        cloud: spec.endpoint.cloud,
        apiVersion: spec.apiVersion,
        defaultDeployment: spec.defaultDeployment,
        deployments: decided.publish.deployments,
      });
      outcome = await deps.publisher.publish(namespace, integration.metadata.uid, publication);
    } else if (decided.publish.action === 'withdraw') {
      outcome = await deps.publisher.withdraw(namespace, integration.metadata.uid, configMapName);
      // A rename leaves the old name behind: withdraw that one too.
      const old = previous?.publication?.configMapName;
      if (old && old !== configMapName)
        await deps.publisher.withdraw(namespace, integration.metadata.uid, old);
    } else {
      outcome = { state: 'kept' };
    }

    const { status, events } = nextStatus(observation, previous, decided, outcome);
    if (statusNeedsWrite(previous, status, observation.now)) {
      await deps.statusWriter.apply(namespace, name, status);
    }
    const target = { name, namespace, uid: integration.metadata.uid };
    for (const event of events)
      await deps.events.record(target, event.type, event.reason, event.message, log);
    log.debug({ requeueAfterMs: decided.requeueAfterMs, publish: outcome.state }, 'Reconciled');
    return { requeueAfterMs: decided.requeueAfterMs };
  }

  // Deletion: withdraw what we published, then let the object go.
  async #finalize(integration: Integration, log: Logger): Promise<void> {
    const { namespace, uid } = integration.metadata;
    if (!integration.metadata.finalizers?.includes(finalizer)) return;
    const configMapName = integration.status?.publication?.configMapName;
    if (configMapName) {
      const outcome = await this.#deps.publisher.withdraw(namespace, uid, configMapName);
      if (outcome.state === 'failed') throw new Error(outcome.message);
    }
    await this.#patchFinalizers(
      integration,
      integration.metadata.finalizers.filter((f) => f !== finalizer),
    );
    log.info({ configMapName }, 'Cleaned up after deletion');
  }

  /** The patched object, or undefined when it is gone. */
  async #patchFinalizers(
    integration: Integration,
    finalizers: string[],
  ): Promise<Integration | undefined> {
    const { namespace, name, resourceVersion } = integration.metadata;
    try {
      return (await this.#deps.customObjects.patchNamespacedCustomObject(
        {
          group: integrationResource.group,
          version: integrationResource.version,
          plural: integrationResource.plural,
          namespace,
          name,
          // resourceVersion makes the merge patch conditional: a stale view fails with 409 and is retried.
          body: { metadata: { finalizers, resourceVersion } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as Integration;
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  }
}
