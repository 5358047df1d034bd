// `/metrics`: the operator's counters in Prometheus text format (docs/metrics.md).
// Only counts and states: never a name of a secret, a token or a message.
import { getHeapSpaceStatistics, type HeapSpaceInfo } from 'node:v8';
import type { Manager } from '../controller/manager.ts';
import { Exposition } from './registry.ts';

export function renderMetrics(manager: Manager): string {
  const memory = process.memoryUsage();
  const heapSpaces = getHeapSpaceStatistics();
  const perHeapSpace = (value: (space: HeapSpaceInfo) => number) =>
    heapSpaces.map((space) => ({ labels: { space: space.space_name }, value: value(space) }));
  const { metrics } = manager;
  return (
    new Exposition()
      .vector(
        'aoai_operator_reconciles_total',
        'counter',
        'Reconciles finished, by result (success, error).',
        metrics.reconciles.samples(),
      )
      .histogram(
        'aoai_operator_reconcile_duration_seconds',
        'Time one reconcile took, Azure calls included.',
        metrics.reconcileDuration,
      )
      .scalar(
        'aoai_operator_queue_depth',
        'gauge',
        'Keys waiting in the work queue.',
        manager.queue.depth,
      )
      .scalar(
        'aoai_operator_reconciles_in_flight',
        'gauge',
        'Reconciles running now.',
        manager.queue.inFlight,
      )
      .vector(
        'aoai_operator_integrations',
        'gauge',
        'Integrations by condition type, status and reason, from the cache.',
        manager.integrationsByCondition(),
      )
      .vector(
        'aoai_operator_azure_requests_total',
        'counter',
        'Requests sent to Azure, by service (entra, openai, arm) and outcome.',
        metrics.azureRequests.counts.samples(),
      )
      .scalar(
        'aoai_operator_data_plane_calls_waiting',
        'gauge',
        'Data-plane calls waiting for the one connection to their endpoint host.',
        manager.dataPlane.waitingForHost,
      )
      .scalar(
        'aoai_operator_circuits_open',
        'gauge',
        'Customer sign-ins and endpoints whose calls are paused after repeated transient failures.',
        manager.breaker.open,
      )
      .scalar(
        'aoai_operator_circuit_openings_total',
        'counter',
        'Times a circuit opened.',
        manager.breaker.openings,
      )
      .scalar(
        'aoai_operator_token_cache_hits_total',
        'counter',
        'Token requests answered from the cache.',
        manager.tokens.hits,
      )
      .scalar(
        'aoai_operator_token_requests_total',
        'counter',
        'Token requests sent to Entra ID.',
        manager.tokens.misses,
      )
      .scalar(
        'aoai_operator_data_plane_requests_total',
        'counter',
        'Requests sent to Azure OpenAI endpoints.',
        metrics.azureRequests.total('openai'),
      )
      .scalar(
        'aoai_operator_status_writes_total',
        'counter',
        'Status writes to the API server.',
        manager.statusWriter.writes,
      )
      .scalar(
        'aoai_operator_configmap_writes_total',
        'counter',
        'ConfigMap writes and deletions.',
        manager.publisher.writes,
      )
      .scalar(
        'aoai_operator_events_total',
        'counter',
        'Kubernetes Events recorded.',
        manager.events.emitted,
      )
      .scalar(
        'aoai_operator_leader',
        'gauge',
        '1 while this replica holds the leader Lease.',
        manager.isLeader ? 1 : 0,
      )
      .scalar('process_resident_memory_bytes', 'gauge', 'Resident memory.', memory.rss)
      .scalar('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use.', memory.heapUsed)
      .scalar(
        'nodejs_external_memory_bytes',
        'gauge',
        'Memory of C++ objects bound to JavaScript, buffers included.',
        memory.external,
      )
      .scalar(
        'nodejs_array_buffers_bytes',
        'gauge',
        'Memory of ArrayBuffers and Buffers.',
        memory.arrayBuffers,
      )
      // Per V8 space, as prom-client names them: where resident memory goes.
      .vector(
        'nodejs_heap_space_size_total_bytes',
        'gauge',
        'Memory V8 has committed for each heap space.',
        perHeapSpace((space) => space.space_size),
      )
      .vector(
        'nodejs_heap_space_size_used_bytes',
        'gauge',
        'Memory in use in each V8 heap space.',
        perHeapSpace((space) => space.space_used_size),
      )
      .text()
  );
}
