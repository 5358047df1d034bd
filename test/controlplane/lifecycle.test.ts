// `npm run controlplane` as a user runs it: ready line, clean stop on a signal,
// and no server left behind even when the runner is killed outright.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { moduleDir } from './binaries.ts';

function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

async function startForeground(): Promise<{ child: ChildProcess; kubeconfigPath: string }> {
  const child = spawn(process.execPath, [join(moduleDir, 'main.ts')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const kubeconfigPath = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
      const match = stdout.match(/^KUBECONFIG=(\/\S+)$/m);
      if (match?.[1]) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`control plane exited with ${code}: ${stderr}`)));
  });
  return { child, kubeconfigPath };
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out: ${what}`);
    await sleep(100);
  }
}

test('npm run controlplane prints a working KUBECONFIG and stops cleanly on SIGINT', async () => {
  const { child, kubeconfigPath } = await startForeground();
  const dir = dirname(kubeconfigPath);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const namespaces = await kc.makeApiClient(CoreV1Api).listNamespace();
  assert.ok(namespaces.items.some((n) => n.metadata?.name === 'kube-system'));
  assert.ok(processesMentioning(dir).length >= 2, 'etcd and kube-apiserver run from the temp dir');

  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.kill('SIGINT');
  assert.equal(await exited, 0);
  assert.deepEqual(processesMentioning(dir), []);
  assert.equal(existsSync(dir), false, 'the temporary data is removed');
});

test('a SIGKILLed runner leaves no control-plane process behind', async () => {
  const { child, kubeconfigPath } = await startForeground();
  const dir = dirname(kubeconfigPath);
  const servers = processesMentioning(dir);
  assert.ok(servers.length >= 2);

  child.kill('SIGKILL');
  await until(
    () => processesMentioning(dir).length === 0,
    'every server process to end after the runner died',
  );
});
