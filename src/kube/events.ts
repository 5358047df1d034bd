// One call records a fact twice: as a Kubernetes Event on the object, and as a log
// line with the same reason and message (Flux's eventLogf).
import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import { apiVersion, fieldManager, integrationResource } from '../api/group.ts';
import type { Logger } from '../log.ts';

export interface EventTarget {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion?: string;
}

export class EventRecorder {
  readonly #core: CoreV1Api;
  readonly #instance: string;
  emitted = 0;

  constructor(core: CoreV1Api, instance: string) {
    this.#core = core;
    this.#instance = instance;
  }

  async record(
    target: EventTarget,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    log: Logger,
  ): Promise<void> {
    (type === 'Warning' ? log.warn : log.info).call(log, { reason }, message);
    const now = new Date();
    this.emitted++;
    try {
      await this.#core.createNamespacedEvent({
        namespace: target.namespace,
        body: eventBody(target, type, reason, message, this.#instance, now),
      });
    } catch (error) {
      // An Event is best effort: failing to record one must not fail the reconcile.
      log.warn({ err: error, reason }, 'Could not record Event');
    }
  }
}

/** The Event the operator records, as sent to the API server (the benchmark's floor sends the same). */
export function eventBody(
  target: EventTarget,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  instance: string,
  now: Date,
): CoreV1Event {
  return {
    metadata: { generateName: `${target.name}.`, namespace: target.namespace },
    involvedObject: {
      apiVersion,
      kind: integrationResource.kind,
      name: target.name,
      namespace: target.namespace,
      uid: target.uid,
      ...(target.resourceVersion ? { resourceVersion: target.resourceVersion } : {}),
    },
    type,
    reason,
    message: message.slice(0, 1024),
    source: { component: fieldManager },
    reportingComponent: `${apiVersion.split('/')[0]}/${fieldManager}`,
    reportingInstance: instance,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}
