// `npm run controlplane`: a real control plane in the foreground with the
// project's CRDs installed, until Ctrl-C or SIGTERM.
import { join } from 'node:path';
import { binaryPath, moduleDir } from './binaries.ts';
import { startControlPlane } from './controlplane.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);
const controlPlane = await startControlPlane({
  manifestDirs: [join(moduleDir, '..', '..', 'crds')],
  log,
});
process.stdout.write(`KUBECONFIG=${controlPlane.kubeconfigPath}\n`);
log(`kubectl: ${binaryPath('kubectl')}`);
log(`Audit log: ${controlPlane.auditLogPath}`);
log('Press Ctrl-C to stop');

let stopping = false;
const stop = async (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  log(`Received ${signal}, stopping the control plane`);
  await controlPlane.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
// Keep the process alive: the servers' pipes are unref'd so tests can exit freely.
setInterval(() => {}, 1 << 30);
