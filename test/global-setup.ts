// Starts one control plane for the whole `npm test` run (each test file is its own
// process and would otherwise pay the start-up again) with the project's CRDs
// installed. Tests reach it through the environment (test/support/cluster.ts).
import { join } from 'node:path';
import { moduleDir } from './controlplane/binaries.ts';
import { type ControlPlane, startControlPlane } from './controlplane/controlplane.ts';

let controlPlane: ControlPlane | undefined;

export async function globalSetup() {
  controlPlane = await startControlPlane({
    manifestDirs: [join(moduleDir, '..', '..', 'crds')],
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.env.TEST_KUBECONFIG = controlPlane.kubeconfigPath;
  process.env.TEST_AUDIT_LOG = controlPlane.auditLogPath;
  process.env.TEST_SA_PUBLIC_KEY = join(controlPlane.dir, 'sa.pub');
}

export async function globalTeardown() {
  await controlPlane?.stop();
}
