// The operator process: configuration, clients, the controller, probes, and a
// graceful stop on SIGTERM.
import { KubeConfig } from '@kubernetes/client-node';
import { loadConfig } from './config.ts';
import { Manager } from './controller/manager.ts';
import { startHttpServer } from './http-server.ts';
import { createLogger } from './log.ts';
import { renderMetrics } from './metrics/operator-metrics.ts';

const config = loadConfig();
const log = createLogger(config.LOG_LEVEL);
const kc = new KubeConfig();
kc.loadFromDefault();

const manager = new Manager(kc, config, log);
const server = await startHttpServer(config.METRICS_ADDRESS, {
  ready: () => manager.ready,
  metrics: () => renderMetrics(manager),
});
manager.onLeadershipLost = () => {
  log.error('Lost the leader lease; exiting so that a fresh process campaigns again');
  void manager.stop(5_000).finally(() => process.exit(1));
};
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
