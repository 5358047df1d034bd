// The operator process: configuration, clients, the controller, probes, and a
// graceful stop on SIGTERM.
import { KubeConfig } from '@kubernetes/client-node';
import { loadConfig } from './config.ts';
import { Manager } from './controller/manager.ts';
import { startHttpServer } from './http-server.ts';
import { createLogger } from './log.ts';

const config = loadConfig();
const log = createLogger(config.LOG_LEVEL);
const kc = new KubeConfig();
kc.loadFromDefault();

const manager = new Manager(kc, config, log);
const server = await startHttpServer(config.METRICS_ADDRESS, {
  ready: () => manager.ready,
  metrics: () =>
    [
      '# HELP aoai_operator_queue_depth Keys waiting in the work queue.',
      '# TYPE aoai_operator_queue_depth gauge',
      `aoai_operator_queue_depth ${manager.queue.depth}`,
      '# HELP aoai_operator_token_cache_hits_total Token requests answered from the cache.',
      '# TYPE aoai_operator_token_cache_hits_total counter',
      `aoai_operator_token_cache_hits_total ${manager.tokens.hits}`,
      '# HELP aoai_operator_token_requests_total Token requests sent to Entra ID.',
      '# TYPE aoai_operator_token_requests_total counter',
      `aoai_operator_token_requests_total ${manager.tokens.misses}`,
      '# HELP aoai_operator_status_writes_total Status writes to the API server.',
      '# TYPE aoai_operator_status_writes_total counter',
      `aoai_operator_status_writes_total ${manager.statusWriter.writes}`,
      '',
    ].join('\n'),
});
await manager.start();
log.info(
  { address: config.METRICS_ADDRESS, namespace: config.OPERATOR_NAMESPACE },
  'Operator running',
);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'Stopping');
    await manager.stop();
    server.close();
    process.exit(0);
  });
}
