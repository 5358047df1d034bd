// Decide purely: from what was observed (Azure answers, the previous status) to
// what to publish, the next status, its Events and when to look again. No I/O,
// so every rule here is table-tested.
import type { Condition, DeploymentStatus, IntegrationStatus } from '../api/integration.ts';
import {
  type ChainLink,
  chainLinks,
  conditionTypes,
  successReasons,
  type ValidationFailure,
} from '../api/reasons.ts';
import type { DeploymentProbe } from '../azure/data-plane.ts';
import type { Publication, PublishedDeployment } from '../publish/configmap.ts';

export interface Observation {
  generation: number;
  now: Date;
  cloud?: string;
  /** A failure before the deployments could be probed (spec, identity, token or endpoint). */
  chainFailure?: { link: ChainLink; failure: ValidationFailure };
  identity?: { name: string; clientId: string; objectId?: string; tokenExpiresAt?: string };
  deployments: Array<{ name: string; probe: DeploymentProbe }>;
  declaredDeployments: string[];
  intervalMs: number;
}

export type PublishPlan =
  | { action: 'apply'; deployments: PublishedDeployment[] }
  | { action: 'keep' }
  | { action: 'withdraw' };

export type PublishOutcome =
  | { state: 'published'; publication: Publication }
  | { state: 'kept' }
  | { state: 'withdrawn' }
  | { state: 'conflict'; message: string }
  | { state: 'failed'; message: string };

export interface Plan {
  publish: PublishPlan;
  failureCount: number;
  /** A transient failure below the threshold: conditions keep their last proven state. */
  damped: boolean;
  requeueAfterMs: number;
}

export interface Policy {
  transientFailureThreshold: number;
  /** Base of the exponential backoff after transient failures. */
  retryBaseMs: number;
}

export function plan(
  observation: Observation,
  previous: IntegrationStatus | undefined,
  policy: Policy,
): Plan {
  const transientFailures = [
    ...(observation.chainFailure?.failure.transient ? [observation.chainFailure.failure] : []),
    ...observation.deployments.flatMap((d) =>
      d.probe.failure?.transient ? [d.probe.failure] : [],
    ),
  ];
  const failureCount = transientFailures.length > 0 ? (previous?.failureCount ?? 0) + 1 : 0;
  const damped = failureCount > 0 && failureCount < policy.transientFailureThreshold;
  const retryAfterMs = Math.max(0, ...transientFailures.map((f) => f.retryAfterMs ?? 0));
  const requeueAfterMs =
    failureCount > 0
      ? Math.min(
          Math.max(policy.retryBaseMs * 2 ** (failureCount - 1), retryAfterMs),
          observation.intervalMs,
        )
      : observation.intervalMs;

  const previouslyPublished = new Set(previous?.publication?.deployments ?? []);
  const chain = observation.chainFailure;
  let publish: PublishPlan;
  if (chain) {
    // Weather keeps the last good publication; a definitive break withdraws it.
    publish = chain.failure.transient ? { action: 'keep' } : { action: 'withdraw' };
  } else {
    const deployments = observation.deployments.flatMap(
      ({ name, probe }): PublishedDeployment[] => {
        if (probe.ready) return [published(name, probe)];
        if (probe.failure?.transient && previouslyPublished.has(name)) {
          const before = previous?.deployments?.find((d) => d.name === name);
          return [{ name, ...(before?.model ? { model: before.model } : {}) }];
        }
        return [];
      },
    );
    publish = deployments.length > 0 ? { action: 'apply', deployments } : { action: 'withdraw' };
  }
  return { publish, failureCount, damped, requeueAfterMs };
}

function published(name: string, probe: DeploymentProbe): PublishedDeployment {
  return {
    name,
    ...(probe.capability ? { capability: probe.capability } : {}),
    ...(probe.model ? { model: probe.model } : {}),
  };
}

export interface StatusEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export function nextStatus(
  observation: Observation,
  previous: IntegrationStatus | undefined,
  decided: Plan,
  outcome: PublishOutcome,
): { status: IntegrationStatus; events: StatusEvent[] } {
  const now = observation.now.toISOString();
  const generation = observation.generation;
  const before = previous?.conditions ?? [];
  const conditions = new ConditionSet(before, generation, now);

  const deploymentStatuses = observation.deployments.map(({ name, probe }): DeploymentStatus => {
    const held =
      decided.damped && probe.failure?.transient
        ? previous?.deployments?.find((d) => d.name === name)
        : undefined;
    if (held) return held;
    return {
      name,
      ready: probe.ready,
      ...(probe.failure ? { reason: probe.failure.reason, message: probe.failure.message } : {}),
      ...(probe.model ? { model: probe.model } : {}),
      latencyMs: probe.latencyMs,
    };
  });

  // Each link: True when proven, False with the failure's reason, Unknown when not reached.
  const chain = observation.chainFailure;
  const failedIndex = chain ? chainLinks.indexOf(chain.link) : -1;
  const firstDeploymentFailure = observation.deployments.find((d) => !d.probe.ready)?.probe.failure;
  const linkStates: Record<
    ChainLink,
    { status: Condition['status']; reason: string; message: string } | 'held'
  > = {
    TokenIssued: linkState('TokenIssued', 0),
    EndpointReachable: linkState('EndpointReachable', 1),
    DeploymentsReady: chain
      ? linkState('DeploymentsReady', 2)
      : firstDeploymentFailure
        ? decided.damped && firstDeploymentFailure.transient
          ? 'held'
          : {
              status: 'False',
              reason: firstDeploymentFailure.reason,
              message: deploymentSummary(observation, firstDeploymentFailure),
            }
        : {
            status: 'True',
            reason: successReasons.DeploymentsReady,
            message: `All ${observation.deployments.length} deployments are usable`,
          },
    Published: publishedState(outcome, previous),
  };
  function linkState(link: ChainLink, index: number) {
    if (!chain || index < failedIndex) {
      return {
        status: 'True' as const,
        reason: successReasons[link],
        message: successMessage(link, observation),
      };
    }
    if (index === failedIndex) {
      if (decided.damped) return 'held' as const;
      return {
        status: 'False' as const,
        reason: chain.failure.reason,
        message: chain.failure.message,
      };
    }
    return {
      status: 'Unknown' as const,
      reason: 'NotChecked',
      message: `Not checked: ${chain.link} failed first`,
    };
  }

  const transientFailure = chain?.failure.transient
    ? chain.failure
    : observation.deployments.find((d) => d.probe.failure?.transient)?.probe.failure;
  const pending = {
    reason: transientFailure?.reason ?? 'Reconciling',
    message: transientFailure?.message ?? 'Validating',
  };
  for (const link of chainLinks) {
    const state = linkStates[link];
    if (state === 'held') conditions.keep(link, pending);
    else conditions.set(link, state.status, state.reason, state.message);
  }

  // Ready summarises the chain: the first link that is not True decides.
  const firstFalse = chainLinks.map((l) => conditions.get(l)).find((c) => c && c.status !== 'True');
  if (decided.damped) {
    conditions.keep(conditionTypes.ready, pending);
  } else if (firstFalse) {
    conditions.set(conditionTypes.ready, 'False', firstFalse.reason, firstFalse.message);
  } else {
    conditions.set(
      conditionTypes.ready,
      'True',
      successReasons.Ready,
      readyMessage(outcome, observation),
    );
  }

  // kstatus: Reconciling while retrying weather, Stalled while waiting for someone to fix something.
  if (decided.damped && transientFailure) {
    conditions.set(
      conditionTypes.reconciling,
      'True',
      transientFailure.reason,
      `Retrying after a transient failure (${decided.failureCount} in a row): ${transientFailure.message}`,
    );
  } else {
    conditions.remove(conditionTypes.reconciling);
  }
  const ready = conditions.get(conditionTypes.ready);
  const definitive = ready?.status === 'False' && !isTransientReason(ready.reason, observation);
  if (definitive && ready)
    conditions.set(conditionTypes.stalled, 'True', ready.reason, ready.message);
  else conditions.remove(conditionTypes.stalled);

  const readyCount = deploymentStatuses.filter((d) => d.ready).length;
  const publication =
    outcome.state === 'published'
      ? {
          configMapName: outcome.publication.configMapName,
          contentHash: outcome.publication.contentHash,
          deployments: outcome.publication.deployments,
        }
      : outcome.state === 'kept'
        ? previous?.publication
        : undefined;
  const succeeded = conditions.get(conditionTypes.ready)?.status === 'True';
  const status: IntegrationStatus = {
    observedGeneration: generation,
    conditions: conditions.list(),
    ...(observation.cloud ? { cloud: observation.cloud } : {}),
    ...(observation.identity ? { servicePrincipal: observation.identity } : {}),
    deployments:
      deploymentStatuses.length > 0
        ? deploymentStatuses
        : previous?.deployments && decided.damped
          ? previous.deployments
          : [],
    deploymentsReady: `${chain ? 0 : readyCount}/${observation.declaredDeployments.length}`,
    ...(succeeded
      ? { lastSuccessfulValidationTime: now }
      : previous?.lastSuccessfulValidationTime
        ? { lastSuccessfulValidationTime: previous.lastSuccessfulValidationTime }
        : {}),
    failureCount: decided.failureCount,
    ...(publication ? { publication } : {}),
  };
  if (decided.damped && chain)
    status.deploymentsReady = previous?.deploymentsReady ?? status.deploymentsReady;
  return { status, events: transitions(before, conditions.list()) };
}

function isTransientReason(reason: string, observation: Observation): boolean {
  if (observation.chainFailure?.failure.reason === reason)
    return observation.chainFailure.failure.transient;
  const deployment = observation.deployments.find((d) => d.probe.failure?.reason === reason);
  return deployment?.probe.failure?.transient ?? reason === 'PublishFailed';
}

function publishedState(outcome: PublishOutcome, previous: IntegrationStatus | undefined) {
  switch (outcome.state) {
    case 'published':
      return {
        status: 'True' as const,
        reason: successReasons.Published,
        message: `ConfigMap ${outcome.publication.configMapName} lists ${outcome.publication.deployments.join(', ')} (${outcome.publication.contentHash.slice(0, 19)})`,
      };
    case 'kept':
      return previous?.publication?.configMapName
        ? {
            status: 'True' as const,
            reason: successReasons.Published,
            message: `ConfigMap ${previous.publication.configMapName} keeps the last good configuration while a transient failure is retried`,
          }
        : {
            status: 'False' as const,
            reason: 'NoDeploymentReady',
            message: 'Nothing has been proven usable yet',
          };
    case 'withdrawn':
      return {
        status: 'False' as const,
        reason: 'NoDeploymentReady',
        message: 'No deployment is usable, so no configuration is published',
      };
    case 'conflict':
      return { status: 'False' as const, reason: 'ConfigMapConflict', message: outcome.message };
    case 'failed':
      return { status: 'False' as const, reason: 'PublishFailed', message: outcome.message };
  }
}

function successMessage(link: ChainLink, observation: Observation): string {
  const identity = observation.identity;
  switch (link) {
    case 'TokenIssued':
      return `Entra ID issued a token for client ${identity?.clientId} in the customer tenant (service principal ${identity?.objectId ?? 'unknown'})`;
    case 'EndpointReachable':
      return 'The endpoint accepted the platform token over the platform network';
    default:
      return successReasons[link];
  }
}

function deploymentSummary(observation: Observation, first: ValidationFailure): string {
  const failed = observation.deployments.filter((d) => !d.probe.ready).map((d) => d.name);
  const ready = observation.deployments.length - failed.length;
  return `${ready}/${observation.deployments.length} deployments usable; ${failed.join(', ')} not: ${first.message}`;
}

function readyMessage(outcome: PublishOutcome, observation: Observation): string {
  const names = observation.deployments.map((d) => d.name).join(', ');
  return outcome.state === 'published'
    ? `Validated ${names}; published to ConfigMap ${outcome.publication.configMapName}`
    : `Validated ${names}`;
}

function transitions(before: Condition[], after: Condition[]): StatusEvent[] {
  const events: StatusEvent[] = [];
  const was = (type: string) => before.find((c) => c.type === type);
  for (const type of [...chainLinks, conditionTypes.ready]) {
    const now = after.find((c) => c.type === type);
    const then = was(type);
    if (!now || now.status === 'Unknown') continue;
    if (then && then.status === now.status && then.reason === now.reason) continue;
    if (type === conditionTypes.ready) {
      events.push({
        type: now.status === 'True' ? 'Normal' : 'Warning',
        reason: now.reason,
        message: now.message,
      });
    } else if (now.status === 'False') {
      events.push({ type: 'Warning', reason: now.reason, message: now.message });
    } else if (type === conditionTypes.published) {
      events.push({ type: 'Normal', reason: now.reason, message: now.message });
    }
  }
  return dedupe(events);
}

function dedupe(events: StatusEvent[]): StatusEvent[] {
  const seen = new Set<string>();
  return events.filter((e) => {
    const key = `${e.reason}\0${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** metav1.Condition bookkeeping: lastTransitionTime moves only when the status does. */
class ConditionSet {
  readonly #conditions = new Map<string, Condition>();
  readonly #previous: Map<string, Condition>;
  readonly #generation: number;
  readonly #now: string;

  constructor(previous: Condition[], generation: number, now: string) {
    this.#previous = new Map(previous.map((c) => [c.type, c]));
    this.#generation = generation;
    this.#now = now;
  }

  set(type: string, status: Condition['status'], reason: string, message: string): void {
    const before = this.#previous.get(type);
    this.#conditions.set(type, {
      type,
      status,
      observedGeneration: this.#generation,
      lastTransitionTime:
        before && before.status === status ? before.lastTransitionTime : this.#now,
      reason,
      message,
    });
  }

  /** Keeps the last proven state; with none yet, says Unknown with the pending reason. */
  keep(type: string, pending: { reason: string; message: string }): void {
    const before = this.#previous.get(type);
    if (before) this.#conditions.set(type, before);
    else this.set(type, 'Unknown', pending.reason, pending.message);
  }

  remove(type: string): void {
    this.#conditions.delete(type);
  }

  get(type: string): Condition | undefined {
    return this.#conditions.get(type);
  }

  list(): Condition[] {
    const order = [
      conditionTypes.ready,
      conditionTypes.reconciling,
      conditionTypes.stalled,
      ...chainLinks,
    ] as string[];
    return [...this.#conditions.values()].sort(
      (a, b) => order.indexOf(a.type) - order.indexOf(b.type),
    );
  }
}
