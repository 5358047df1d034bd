// A real Kubernetes control plane on loopback: etcd, kube-apiserver with RBAC, an
// admin token identity, service-account token signing and an audit log, and
// (optionally) kube-controller-manager for garbage collection and namespace
// deletion. Every process dies with the Node process that started it.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { binaryPath } from './binaries.ts';
import { ensureBinaries } from './build.ts';
import { applyManifestsIn } from './manifests.ts';
import { type SupervisedProcess, startSupervised } from './supervised-process.ts';

export interface ControlPlaneOptions {
  /** Runs kube-controller-manager (garbage collector, namespace controller). Default true. */
  controllerManager?: boolean;
  /** Folders whose YAML manifests are applied once the API server is ready. */
  manifestDirs?: string[];
  log?: (line: string) => void;
}

export interface AuditEvent {
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  objectRef?: {
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
    apiGroup?: string;
  };
  responseStatus?: { code?: number };
  userAgent?: string;
  stage: string;
}

export interface ControlPlane {
  readonly dir: string;
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly caPem: string;
  readonly etcdUrl: string;
  readonly serviceAccountIssuer: string;
  readonly serviceAccountPublicKeyPem: string;
  readonly auditLogPath: string;
  /** A fresh admin (system:masters) client configuration. */
  kubeConfig(): KubeConfig;
  /** Every audit event written so far (the log is written synchronously). */
  auditEvents(): AuditEvent[];
  /** Stops and starts kube-apiserver on the same port and data, as a real restart would. */
  restartApiServer(): Promise<void>;
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

const adminToken = (): string => randomBytes(24).toString('hex');

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const bin = await ensureBinaries(log);
  const dir = mkdtempSync(join(tmpdir(), 'controlplane-'));
  const started = Date.now();
  const [etcdPort, etcdPeerPort, apiPort] = await freePorts(3);
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const server = `https://127.0.0.1:${apiPort}`;
  const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';
  const token = adminToken();
  const files = writeConfigFiles(dir, token);

  const processes: SupervisedProcess[] = [];
  const stopAll = async () => {
    for (const p of [...processes].reverse()) await p.stop();
  };
  try {
    processes.push(
      startSupervised(
        'etcd',
        binaryPath('etcd', bin),
        [
          '--name=default',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
          `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
          // Test data is disposable: skipping fsync makes every write several times faster.
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
        join(dir, 'etcd.log'),
      ),
    );
    await waitFor('etcd', join(dir, 'etcd.log'), async () => (await fetch(`${etcdUrl}/health`)).ok);

    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--endpoint-reconciler-type=none',
      '--service-cluster-ip-range=10.0.0.0/24',
      `--service-account-issuer=${serviceAccountIssuer}`,
      `--service-account-key-file=${files.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${files.serviceAccountPrivateKey}`,
      '--authorization-mode=RBAC',
      '--disable-admission-plugins=ServiceAccount',
      `--token-auth-file=${files.tokens}`,
      `--audit-policy-file=${files.auditPolicy}`,
      `--audit-log-path=${files.auditLog}`,
      '--audit-log-format=json',
      '--audit-log-mode=blocking',
      '--allow-privileged=false',
      '--enable-priority-and-fairness=false',
      '--v=1',
    ];
    const apiServerLog = join(dir, 'kube-apiserver.log');
    const startApiServer = () =>
      startSupervised(
        'kube-apiserver',
        binaryPath('kube-apiserver', bin),
        apiServerArgs,
        apiServerLog,
      );
    let apiServer = startApiServer();
    processes.push(apiServer);
    const stopApiServer = () => apiServer.stop();
    const restartStoppedApiServer = async () => {
      if (apiServer.isRunning()) return;
      apiServer = startApiServer();
      processes.splice(
        processes.indexOf(processes.find((p) => p.name === 'kube-apiserver') as SupervisedProcess),
        1,
        apiServer,
      );
      await waitForApiServer(server, token, dir, apiServerLog);
    };
    const caPem = await waitForApiServer(server, token, dir, apiServerLog);
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, caPem, 'admin', token), { mode: 0o600 });

    if (options.controllerManager ?? true) {
      processes.push(
        startSupervised(
          'kube-controller-manager',
          binaryPath('kube-controller-manager', bin),
          [
            `--kubeconfig=${kubeconfigPath}`,
            '--controllers=garbagecollector,namespace',
            '--leader-elect=false',
            '--secure-port=0',
            `--service-account-private-key-file=${files.serviceAccountPrivateKey}`,
            '--v=1',
          ],
          join(dir, 'kube-controller-manager.log'),
        ),
      );
    }

    const kubeConfig = () => {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      return kc;
    };
    for (const manifestDir of options.manifestDirs ?? []) {
      await applyManifestsIn(kubeConfig(), manifestDir);
    }
    log(`Control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${server}`);

    return {
      dir,
      server,
      kubeconfigPath,
      caPem,
      etcdUrl,
      serviceAccountIssuer,
      serviceAccountPublicKeyPem: readFileSync(files.serviceAccountPublicKey, 'utf8'),
      auditLogPath: files.auditLog,
      kubeConfig,
      auditEvents: () => readAuditEvents(files.auditLog),
      async restartApiServer() {
        await stopApiServer();
        await restartStoppedApiServer();
      },
      stopApiServer,
      startApiServer: restartStoppedApiServer,
      async stop() {
        await stopAll();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function writeConfigFiles(dir: string, token: string) {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const files = {
    serviceAccountPublicKey: join(dir, 'sa.pub'),
    serviceAccountPrivateKey: join(dir, 'sa.key'),
    tokens: join(dir, 'tokens.csv'),
    auditPolicy: join(dir, 'audit-policy.yaml'),
    auditLog: join(dir, 'audit.log'),
  };
  mkdirSync(join(dir, 'certs'));
  writeFileSync(files.serviceAccountPublicKey, publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(
    files.serviceAccountPrivateKey,
    privateKey.export({ type: 'pkcs8', format: 'pem' }),
    {
      mode: 0o600,
    },
  );
  writeFileSync(files.tokens, `${token},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
  // Metadata for every request: who did what to which object, and the response code.
  writeFileSync(
    files.auditPolicy,
    [
      'apiVersion: audit.k8s.io/v1',
      'kind: Policy',
      'omitStages: ["RequestReceived"]',
      'rules:',
      '  - level: Metadata',
      '',
    ].join('\n'),
  );
  writeFileSync(files.auditLog, '');
  return files;
}

async function waitForApiServer(
  server: string,
  token: string,
  dir: string,
  logPath: string,
): Promise<string> {
  // The API server writes its self-signed serving certificate followed by its CA.
  const certPath = join(dir, 'certs', 'apiserver.crt');
  let caPem = '';
  await waitFor('kube-apiserver', logPath, async () => {
    caPem = readFileSync(certPath, 'utf8');
    const { status } = await httpsGet(`${server}/readyz`, token, caPem);
    return status === 200;
  });
  return caPem;
}

async function httpsGet(url: string, token: string, caPem: string): Promise<{ status: number }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: { authorization: `Bearer ${token}` }, ca: caPem, timeout: 2000 },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0 });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

async function waitFor(
  name: string,
  logPath: string,
  ready: () => Promise<boolean>,
  timeoutMs = 90_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await ready()) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  let tail = '';
  try {
    tail = readFileSync(logPath, 'utf8').split('\n').slice(-30).join('\n');
  } catch {}
  throw new Error(
    `${name} did not become ready within ${timeoutMs / 1000}s; last log lines:\n${tail}`,
  );
}

function kubeconfigYaml(server: string, caPem: string, user: string, token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'test',
        cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user } }],
    'current-context': 'test',
  });
}

export function readAuditEvents(path: string): AuditEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent);
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const s = createServer();
          s.on('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
