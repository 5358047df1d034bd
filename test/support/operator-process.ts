// The operator binary (`node src/main.ts`) as a child process, the way `npm start`
// runs it: for end-to-end tests and the demo.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import type { AzureEmulator } from '../azure-emulator/index.ts';
import { platform } from '../azure-emulator/sample-world.ts';
import { moduleDir } from '../controlplane/binaries.ts';
import { imageJemallocPath, localJemalloc } from './jemalloc.ts';

const repo = join(moduleDir, '..', '..');

// The Node flags of the image's ENTRYPOINT (["node", ...flags, "dist/main.js"]), read
// from the Dockerfile so that the tests and the bench cannot drift from it.
function imageNodeFlags(dockerfile: string): string[] {
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
  if (!entrypoint) throw new Error('the Dockerfile has no ENTRYPOINT in exec form');
  return (JSON.parse(entrypoint) as string[]).slice(1, -1);
}

// The image's allocator settings (`ENV LD_PRELOAD=...`, `ENV MALLOC_CONF=...` of its
// last stage), with the preloaded library found where this machine keeps it.
async function imageAllocatorEnvironment(dockerfile: string): Promise<Record<string, string>> {
  const lastStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const [, name, value] of lastStage.matchAll(/^ENV (LD_PRELOAD|MALLOC_CONF)=(\S+)$/gm)) {
    env[name as string] = value as string;
  }
  if (env.LD_PRELOAD !== undefined) {
    if (env.LD_PRELOAD !== imageJemallocPath) {
      throw new Error(`the Dockerfile preloads ${env.LD_PRELOAD}; tests know ${imageJemallocPath}`);
    }
    env.LD_PRELOAD = await localJemalloc();
  }
  return env;
}

export interface OperatorProcess {
  child: ChildProcess;
  port: number;
  logPath: string;
  output(): string;
  get(path: string): Promise<{ status: number; body: string }>;
  waitReady(timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

export async function spawnOperator(options: {
  kubeConfig: KubeConfig;
  operatorNamespace: string;
  emulator: AzureEmulator;
  env?: Record<string, string>;
  entry?: 'src' | 'dist';
}): Promise<OperatorProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'operator-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, options.kubeConfig.exportConfig(), { mode: 0o600 });
  const logPath = join(dir, 'operator.log');
  const port = await freePort();
  // `dist` runs the bundle the image ships (`npm run build`; `npm test` builds it first).
  const entry =
    options.entry === 'dist' ? join(repo, 'dist', 'main.js') : join(repo, 'src', 'main.ts');
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run \`npm run build\``);
  // The image's flags, so figures measured here hold for it. A flag on the command
  // line beats NODE_OPTIONS, so an experiment that sets the semi-space there must not
  // get the image's too. OPERATOR_NODE_FLAGS replaces them, for V8 flags NODE_OPTIONS
  // refuses.
  const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
  const semiSpace = '--max-semi-space-size';
  const imageFlags =
    process.env.OPERATOR_NODE_FLAGS?.split(' ').filter(Boolean) ??
    imageNodeFlags(dockerfile).filter(
      (flag) => !(flag.startsWith(semiSpace) && options.env?.NODE_OPTIONS?.includes(semiSpace)),
    );
  const child = spawn(process.execPath, [...imageFlags, entry], {
    env: {
      ...(await imageAllocatorEnvironment(dockerfile)),
      PATH: process.env.PATH,
      KUBECONFIG: kubeconfigPath,
      OPERATOR_NAMESPACE: options.operatorNamespace,
      AZURE_CONNECT_TO: options.emulator.connectTo,
      AZURE_EXTRA_CA_FILE: options.emulator.caPath,
      PLATFORM_EGRESS_IPS: platform.egressIp,
      METRICS_ADDRESS: `127.0.0.1:${port}`,
      ...options.env,
      // For experiments: OPERATOR_ENV_X=v sets X=v (LD_PRELOAD= runs glibc's malloc).
      ...Object.fromEntries(
        Object.entries(process.env)
          .filter(([name]) => name.startsWith('OPERATOR_ENV_'))
          .map(([name, value]) => [name.slice('OPERATOR_ENV_'.length), value]),
      ),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const log = createWriteStream(logPath);
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (d) => {
      output += d;
      log.write(d);
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const get = (path: string) =>
    fetch(`http://127.0.0.1:${port}${path}`).then(async (r) => ({
      status: r.status,
      body: await r.text(),
    }));
  return {
    child,
    port,
    logPath,
    output: () => output,
    get,
    exited,
    async waitReady(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (child.exitCode !== null)
          throw new Error(`The operator exited with ${child.exitCode}: ${output}`);
        if ((await get('/readyz').catch(() => ({ status: 0 }))).status === 200) return;
        await sleep(100);
      }
      throw new Error(`The operator did not become ready: ${output}`);
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
