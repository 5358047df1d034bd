// Prometheus text exposition of the operator's counters (docs/metrics.md).
// Only counts and states: never a name of a secret, a token or a message.
import type { Manager } from './controller/manager.ts';

export function renderMetrics(manager: Manager): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
  };
  metric(
    'aoai_operator_queue_depth',
    'gauge',
    'Keys waiting in the work queue.',
    manager.queue.depth,
  );
  metric(
    'aoai_operator_reconciles_in_flight',
    'gauge',
    'Reconciles running now.',
    manager.queue.inFlight,
  );
  metric(
    'aoai_operator_token_cache_hits_total',
    'counter',
    'Token requests answered from the cache.',
    manager.tokens.hits,
  );
  metric(
    'aoai_operator_token_requests_total',
    'counter',
    'Token requests sent to Entra ID.',
    manager.tokens.misses,
  );
  metric(
    'aoai_operator_data_plane_requests_total',
    'counter',
    'Requests sent to Azure OpenAI endpoints.',
    manager.dataPlane.requests,
  );
  metric(
    'aoai_operator_status_writes_total',
    'counter',
    'Status writes to the API server.',
    manager.statusWriter.writes,
  );
  metric(
    'aoai_operator_configmap_writes_total',
    'counter',
    'ConfigMap writes and deletions.',
    manager.publisher.writes,
  );
  metric(
    'aoai_operator_events_total',
    'counter',
    'Kubernetes Events recorded.',
    manager.events.emitted,
  );
  metric(
    'aoai_operator_leader',
    'gauge',
    '1 while this replica holds the leader Lease.',
    manager.isLeader ? 1 : 0,
  );
  const memory = process.memoryUsage();
  metric('process_resident_memory_bytes', 'gauge', 'Resident memory.', memory.rss);
  metric('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use.', memory.heapUsed);
  metric(
    'nodejs_external_memory_bytes',
    'gauge',
    'Memory of C++ objects bound to JavaScript, buffers included.',
    memory.external,
  );
  metric(
    'nodejs_array_buffers_bytes',
    'gauge',
    'Memory of ArrayBuffers and Buffers.',
    memory.arrayBuffers,
  );
  return `${lines.join('\n')}\n`;
}
