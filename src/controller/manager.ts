// Wires watches to the work queue and the queue to the reconciler. Watch events
// only say "look at this key again"; the reconciler reads current state.
import { performance } from 'node:perf_hooks';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Namespace,
  type V1Secret,
} from '@kubernetes/client-node';
import {
  fieldManager,
  finalizer,
  integrationResource,
  labels,
  servicePrincipalResource,
} from '../api/group.ts';
import type { Integration } from '../api/integration.ts';
import {
  type LabelSelector,
  matchesSelector,
  type ServicePrincipal,
} from '../api/service-principal.ts';
import { CircuitBreaker } from '../azure/circuit-breaker.ts';
import { createAzureTransport } from '../azure/connect-to.ts';
import { CredentialCache } from '../azure/credentials.ts';
import { DataPlaneClient, Superseded } from '../azure/data-plane.ts';
import { currentWork } from '../azure/host-queue.ts';
import { AzureRequestCounter } from '../azure/request-metrics.ts';
import { TokenCache } from '../azure/token-cache.ts';
import type { OperatorConfig } from '../config.ts';
import { EventRecorder } from '../kube/events.ts';
import { StatusWriter } from '../kube/status-writer.ts';
import { makeApiClient, shareConnections } from '../kube/transport.ts';
import type { Logger } from '../log.ts';
import { CounterVec, Histogram, type Labels } from '../metrics/registry.ts';
import { ConfigMapPublisher, type ObservedConfigMap, observeConfigMap } from '../publish/apply.ts';
import { IntegrationReconciler } from '../reconcile/reconciler.ts';
import { keyOf, ResilientInformer } from './informer.ts';
import { LeaderElector } from './leader-election.ts';
import { type Lane, WorkQueue } from './work-queue.ts';

export class Manager {
  readonly metrics = {
    reconciles: new CounterVec(),
    reconcileDuration: new Histogram([0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]),
    azureRequests: new AzureRequestCounter(),
  };
  readonly queue: WorkQueue;
  readonly tokens: TokenCache;
  readonly statusWriter: StatusWriter;
  readonly publisher: ConfigMapPublisher;
  readonly events: EventRecorder;
  readonly dataPlane: DataPlaneClient;
  readonly breaker: CircuitBreaker;
  readonly #informers: {
    integrations: ResilientInformer<Integration & KubernetesObject>;
    servicePrincipals: ResilientInformer<ServicePrincipal & KubernetesObject>;
    namespaces: ResilientInformer<V1Namespace>;
    configMaps: ResilientInformer<V1ConfigMap & ObservedConfigMap>;
    secrets: ResilientInformer<V1Secret>;
  };
  readonly #reconciler: IntegrationReconciler;
  readonly #log: Logger;
  readonly #transport: ReturnType<typeof createAzureTransport>;
  readonly #namespaceSelector: LabelSelector | undefined;
  readonly #elector: LeaderElector | undefined;

  constructor(kubeConfig: KubeConfig, config: OperatorConfig, log: Logger) {
    const kc = shareConnections(kubeConfig);
    this.#log = log;
    this.#namespaceSelector = config.watchNamespaceSelector;
    // Discovery plus the token request: two round trips.
    this.tokens = new TokenCache(2 * config.AZURE_REQUEST_TIMEOUT);
    const core = makeApiClient(kc, CoreV1Api);
    const custom = makeApiClient(kc, CustomObjectsApi);
    const { group, version } = integrationResource;
    const staleAfterMs = config.INFORMER_STALE_AFTER;
    const operatorNamespace = config.OPERATOR_NAMESPACE;
    this.#informers = {
      // Credential material, read from the cache instead of a GET per reconcile;
      // a rotated Secret wakes the integrations that use it.
      secrets: new ResilientInformer(
        'secrets',
        kc,
        `/api/v1/namespaces/${operatorNamespace}/secrets`,
        () => core.listNamespacedSecret({ namespace: operatorNamespace }),
        log,
        { staleAfterMs },
      ),
      integrations: new ResilientInformer(
        'integrations',
        kc,
        `/apis/${group}/${version}/${integrationResource.plural}`,
        () =>
          custom.listCustomObjectForAllNamespaces({
            group,
            version,
            resourcePlural: integrationResource.plural,
          }) as never,
        log,
        { staleAfterMs },
      ),
      servicePrincipals: new ResilientInformer(
        'servicePrincipals',
        kc,
        `/apis/${group}/${version}/${servicePrincipalResource.plural}`,
        () =>
          custom.listClusterCustomObject({
            group,
            version,
            plural: servicePrincipalResource.plural,
          }) as never,
        log,
        { staleAfterMs },
      ),
      namespaces: new ResilientInformer(
        'namespaces',
        kc,
        '/api/v1/namespaces',
        () => core.listNamespace(),
        log,
        { staleAfterMs },
      ),
      configMaps: new ResilientInformer(
        'configMaps',
        kc,
        '/api/v1/configmaps',
        () =>
          core.listConfigMapForAllNamespaces({
            labelSelector: `${labels.managedBy}=${fieldManager}`,
          }),
        log,
        {
          labelSelector: `${labels.managedBy}=${fieldManager}`,
          staleAfterMs,
          // Cached as observed (src/publish/apply.ts), in place: ListWatch keeps the object.
          slim: (cm) => {
            const observed = observeConfigMap(cm as V1ConfigMap);
            (cm as V1ConfigMap).data = undefined;
            (cm as V1ConfigMap).binaryData = undefined;
            cm.metadata = observed.metadata;
            (cm as ObservedConfigMap).dataHash = observed.dataHash;
          },
        },
      ),
    };
    this.#transport = createAzureTransport({
      connectTo: config.connectTo,
      extraCaPem: config.extraCaPem,
      requests: this.metrics.azureRequests,
    });
    this.dataPlane = new DataPlaneClient(
      this.#transport.dispatcher,
      config.AZURE_REQUEST_TIMEOUT,
      this.metrics.azureRequests,
    );
    this.statusWriter = new StatusWriter(custom);
    this.events = new EventRecorder(core, config.POD_NAME);
    this.publisher = new ConfigMapPublisher(core, (namespace, name) =>
      this.#informers.configMaps.get(name, namespace),
    );
    this.breaker = new CircuitBreaker({
      failureThreshold: config.TENANT_CIRCUIT_THRESHOLD,
      openMs: config.TENANT_CIRCUIT_OPEN,
      maxOpenMs: config.TENANT_CIRCUIT_MAX_OPEN,
      trialTimeoutMs: 3 * config.AZURE_REQUEST_TIMEOUT,
    });
    this.#reconciler = new IntegrationReconciler({
      getIntegration: (namespace, name) => this.#informers.integrations.get(name, namespace),
      customObjects: custom,
      statusWriter: this.statusWriter,
      events: this.events,
      publisher: this.publisher,
      policy: {
        transientFailureThreshold: config.TRANSIENT_FAILURE_THRESHOLD,
        retryBaseMs: config.TRANSIENT_RETRY_BASE,
      },
      log,
      lookup: {
        servicePrincipal: (name) => this.#informers.servicePrincipals.get(name),
        servicePrincipals: () => this.#informers.servicePrincipals.list(),
        namespaceLabels: (name) => this.#informers.namespaces.get(name)?.metadata?.labels ?? {},
      },
      // Reconciles run only while every cache is synced, so a Secret missing here is missing.
      readSecret: async (name, key) => {
        const value = this.#informers.secrets.get(name, operatorNamespace)?.data?.[key];
        return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
      },
      httpClient: this.#transport.httpClient,
      credentials: new CredentialCache(),
      tokens: this.tokens,
      dataPlane: this.dataPlane,
      egressIps: config.PLATFORM_EGRESS_IPS,
      breaker: this.breaker,
      minProbeIntervalMs: config.MIN_PROBE_INTERVAL,
      now: () => new Date(),
    });
    this.queue = new WorkQueue({
      concurrency: config.CONCURRENCY,
      retryRatePerSecond: config.RETRY_RATE_LIMIT,
      retryBurst: config.RETRY_BURST,
    });
    this.#elector = config.LEADER_ELECTION
      ? new LeaderElector(
          makeApiClient(kc, CoordinationV1Api),
          {
            namespace: config.OPERATOR_NAMESPACE,
            name: 'azure-openai-operator',
            identity: config.POD_NAME,
            leaseDurationMs: config.LEASE_DURATION,
            renewDeadlineMs: config.RENEW_DEADLINE,
            retryPeriodMs: config.RETRY_PERIOD,
          },
          log,
        )
      : undefined;
    this.queue.onError = (key, error) =>
      log.error({ key, err: error }, 'Reconcile failed, retrying with backoff');
  }

  get ready(): boolean {
    return Object.values(this.#informers).every((i) => i.ready);
  }

  async start(): Promise<void> {
    const enqueue = (o: KubernetesObject) => this.queue.add(keyOf(o));
    await Promise.all([
      this.#informers.servicePrincipals.start({
        add: (sp) => this.#enqueueIntegrationsWhere((i) => usesIdentity(i, sp)),
        update: (sp, old) => {
          if (sp.metadata.generation !== old?.metadata.generation)
            this.#enqueueIntegrationsWhere(
              (i) => usesIdentity(i, sp) || (old ? usesIdentity(i, old) : false),
            );
        },
        delete: (sp) => this.#enqueueIntegrationsWhere((i) => usesIdentity(i, sp)),
      }),
      this.#informers.namespaces.start({
        add: (ns) =>
          this.#enqueueIntegrationsWhere((i) => i.metadata.namespace === ns.metadata?.name),
        update: (ns, old) => {
          if (JSON.stringify(ns.metadata?.labels) !== JSON.stringify(old?.metadata?.labels)) {
            this.#enqueueIntegrationsWhere((i) => i.metadata.namespace === ns.metadata?.name);
          }
        },
      }),
      this.#informers.secrets.start({
        add: (secret) => this.#enqueueUsersOfSecret(secret),
        update: (secret, old) => {
          if (JSON.stringify(secret.data) !== JSON.stringify(old?.data))
            this.#enqueueUsersOfSecret(secret);
        },
        delete: (secret) => this.#enqueueUsersOfSecret(secret),
      }),
      this.#informers.configMaps.start({
        // Someone edited or deleted what we publish: look again, and restore it.
        update: (cm, old) => {
          if (cm.dataHash !== old?.dataHash) this.#enqueueOwner(cm);
        },
        delete: (cm) => this.#enqueueOwner(cm),
      }),
    ]);
    await this.#informers.integrations.start({
      add: enqueue,
      update: (i, old) => {
        // Our own status and finalizer writes come back as updates: only spec and
        // lifecycle changes matter, and someone removing our finalizer.
        if (
          !old ||
          i.metadata.generation !== old.metadata.generation ||
          i.metadata.deletionTimestamp !== old.metadata.deletionTimestamp ||
          (old.metadata.finalizers?.includes(finalizer) &&
            !i.metadata.finalizers?.includes(finalizer))
        ) {
          enqueue(i);
        }
      },
      delete: enqueue,
    });
    const handler = async (key: string, lane: Lane, superseded: AbortSignal | undefined) => {
      const [namespace, name] = key.split('/') as [string, string];
      // Decisions need every cache: an identity missing from a cache that is relisting is not a missing identity.
      if (!this.ready) return { requeueAfterMs: 1_000 };
      if (!this.#watches(namespace)) return undefined;
      const started = performance.now();
      let result: Awaited<ReturnType<IntegrationReconciler['reconcile']>>;
      try {
        // An edit's Azure calls go before queued re-validations of the same host, and
        // stop a re-validation of the same integration that is still waiting for them.
        result = await currentWork.run({ urgent: lane === 'urgent', superseded }, () =>
          this.#reconciler.reconcile(namespace, name),
        );
        this.metrics.reconciles.inc({ result: 'success' });
      } catch (error) {
        if (error instanceof Superseded) {
          this.metrics.reconciles.inc({ result: 'superseded' });
          return undefined;
        }
        this.metrics.reconciles.inc({ result: 'error' });
        throw error;
      } finally {
        this.metrics.reconcileDuration.observe((performance.now() - started) / 1000);
      }
      // Jitter spreads periodic re-validation so thousands of integrations do not probe
      // in step. Only later, never sooner: the delay may be a Retry-After.
      return result.requeueAfterMs === undefined
        ? undefined
        : { requeueAfterMs: Math.round(result.requeueAfterMs * (1 + Math.random() * 0.1)) };
    };
    // Every replica keeps its caches warm; only the leader works the queue.
    if (this.#elector) {
      this.#elector.start(
        () => this.queue.start(handler),
        () => this.onLeadershipLost(),
      );
    } else {
      this.queue.start(handler);
    }
    this.#log.info('Controller started');
  }

  /** Called when the lease was lost: the process must stop, as client-go's leaders do. */
  onLeadershipLost: () => void = () => {};

  /** For the integrations gauge: counted from the cache at scrape time, so it never drifts. */
  integrationsByCondition(): Array<{ labels: Labels; value: number }> {
    const counts = new Map<string, { labels: Labels; value: number }>();
    for (const integration of this.#informers.integrations.list()) {
      if (!this.#watches(integration.metadata.namespace)) continue;
      for (const condition of integration.status?.conditions ?? []) {
        const labels = {
          condition: condition.type,
          status: condition.status,
          reason: condition.reason,
        };
        const key = `${labels.condition}\0${labels.status}\0${labels.reason}`;
        const entry = counts.get(key);
        if (entry) entry.value++;
        else counts.set(key, { labels, value: 1 });
      }
    }
    return [...counts.values()];
  }

  get isLeader(): boolean {
    return this.#elector ? this.#elector.isLeader : true;
  }

  async stop(deadlineMs = 10_000): Promise<void> {
    await this.queue.shutdown(deadlineMs);
    await this.#elector?.stop();
    await Promise.all(Object.values(this.#informers).map((i) => i.stop()));
    await this.#transport.close();
  }

  /** Sharding: with WATCH_NAMESPACE_SELECTOR set, only namespaces it selects are this operator's. */
  #watches(namespace: string): boolean {
    if (!this.#namespaceSelector) return true;
    const labels = this.#informers.namespaces.get(namespace)?.metadata?.labels;
    return labels !== undefined && matchesSelector(this.#namespaceSelector, labels);
  }

  #enqueueIntegrationsWhere(match: (integration: Integration) => boolean): void {
    for (const integration of this.#informers.integrations.list())
      if (match(integration)) this.queue.add(keyOf(integration));
  }

  #enqueueUsersOfSecret(secret: V1Secret): void {
    const name = secret.metadata?.name;
    const identities = this.#informers.servicePrincipals
      .list()
      .filter((sp) => secretNameOf(sp) === name);
    this.#enqueueIntegrationsWhere((i) => identities.some((sp) => usesIdentity(i, sp)));
  }

  #enqueueOwner(cm: V1ConfigMap): void {
    const owner = cm.metadata?.ownerReferences?.find((o) => o.kind === integrationResource.kind);
    if (owner && cm.metadata?.namespace) this.queue.add(`${cm.metadata.namespace}/${owner.name}`);
  }
}

function usesIdentity(integration: Integration, sp: ServicePrincipal): boolean {
  const ref = (integration.spec as { servicePrincipalRef?: { name?: string } })?.servicePrincipalRef
    ?.name;
  return ref === undefined
    ? (sp.spec as { default?: boolean })?.default === true
    : ref === sp.metadata.name;
}

function secretNameOf(sp: ServicePrincipal): string | undefined {
  const credential = (sp.spec as { credential?: Record<string, { secretRef?: { name?: string } }> })
    ?.credential;
  return credential?.clientSecret?.secretRef?.name ?? credential?.certificate?.secretRef?.name;
}
