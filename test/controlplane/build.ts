// Builds kube-apiserver, kube-controller-manager, kubectl and etcd from their Go
// modules (no release binary can be downloaded here) into the version-keyed
// cache. A warm cache returns at once; a cold build reports its progress.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  binaryPath,
  builtFileName,
  cacheDir,
  commands,
  missingBinaries,
  moduleDir,
  pinnedVersions,
} from './binaries.ts';

const run = promisify(execFile);

export async function ensureBinaries(log: (line: string) => void = defaultLog): Promise<string> {
  const versions = pinnedVersions();
  const dir = cacheDir(versions);
  const missing = missingBinaries(dir);
  if (missing.length === 0) return dir;

  await assertGo();
  log(
    `Building ${missing.join(', ')} for Kubernetes ${versions.kubernetes} (etcd ${versions.etcd}) ` +
      `into ${dir}; a cold build takes several minutes and is done once`,
  );
  const started = Date.now();
  const packages = missing.map((c) => commands[c]);
  log('  resolving the module graph (a fresh machine downloads the Go modules now)');
  const total = await countPackages(packages);
  mkdirSync(dirname(dir), { recursive: true });
  const staging = mkdtempSync(`${dir}.build-`);
  try {
    await goBuild(packages, staging, versions.kubernetes, (built) => {
      const seconds = Math.round((Date.now() - started) / 1000);
      log(`  compiled ${Math.min(built, total)}/${total} packages (${seconds}s)`);
    });
    mkdirSync(dir, { recursive: true });
    // Rename last so an interrupted build never leaves a half-written binary in the cache.
    for (const command of missing) {
      renameSync(join(staging, builtFileName[command]), binaryPath(command, dir));
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  log(`Built the control plane in ${Math.round((Date.now() - started) / 1000)}s`);
  return dir;
}

async function assertGo(): Promise<void> {
  try {
    await run('go', ['version']);
  } catch {
    throw new Error(
      'Go is required to build the test control plane (kube-apiserver, etcd) from source: install Go 1.26 or newer',
    );
  }
}

async function countPackages(packages: string[]): Promise<number> {
  const { stdout } = await run('go', ['list', '-deps', ...packages], {
    cwd: moduleDir,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.split('\n').filter(Boolean).length;
}

function goBuild(
  packages: string[],
  outDir: string,
  kubernetesVersion: string,
  progress: (built: number) => void,
): Promise<void> {
  const [major, minor] = kubernetesVersion.replace(/^v/, '').split('.');
  const versionPackage = 'k8s.io/component-base/version';
  const ldflags = [
    '-s',
    '-w',
    `-X ${versionPackage}.gitVersion=${kubernetesVersion}`,
    `-X ${versionPackage}.gitMajor=${major}`,
    `-X ${versionPackage}.gitMinor=${minor}`,
    `-X ${versionPackage}.gitTreeState=clean`,
  ].join(' ');
  const child = spawn(
    'go',
    ['build', '-v', '-trimpath', '-ldflags', ldflags, '-o', `${outDir}/`, ...packages],
    {
      cwd: moduleDir,
      env: { ...process.env, CGO_ENABLED: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let built = 0;
  let errors = '';
  // `go build -v` names each package as it is compiled; that count is the progress.
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) {
      if (!line) continue;
      if (/^[\w.-]+(\/[\w.~-]+)*$/.test(line)) built++;
      else errors += `${line}\n`;
    }
  });
  child.stdout.resume();
  const timer = setInterval(() => progress(built), 15_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      if (code === 0) resolve();
      else reject(new Error(`go build failed with exit code ${code}:\n${errors.slice(-4000)}`));
    });
  });
}

function defaultLog(line: string): void {
  process.stderr.write(`${line}\n`);
}

if (import.meta.main) {
  const dir = await ensureBinaries();
  process.stdout.write(`Control plane binaries: ${dir}\n`);
}
