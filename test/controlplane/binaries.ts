// Where the control-plane binaries live and whether they are built. The cache
// sits outside the repository, keyed by the pinned versions and the module
// graph, so a fresh clone on a warm machine reuses it and a version bump rebuilds.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const moduleDir = dirname(fileURLToPath(import.meta.url));

export const commands = {
  'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
  'kube-controller-manager': 'k8s.io/kubernetes/cmd/kube-controller-manager',
  kubectl: 'k8s.io/kubernetes/cmd/kubectl',
  etcd: 'go.etcd.io/etcd/server/v3',
} as const;

export type Command = keyof typeof commands;

// The Go package of etcd's main is `go.etcd.io/etcd/server/v3`; go names the binary after `server`.
export const builtFileName: Record<Command, string> = {
  'kube-apiserver': 'kube-apiserver',
  'kube-controller-manager': 'kube-controller-manager',
  kubectl: 'kubectl',
  etcd: 'server',
};

export interface Versions {
  kubernetes: string;
  etcd: string;
}

export function pinnedVersions(): Versions {
  const goMod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  const version = (module: string): string => {
    const match = goMod.match(new RegExp(`^\\s*${module.replaceAll('.', '\\.')} (v\\S+)`, 'm'));
    if (!match?.[1]) throw new Error(`go.mod does not pin ${module}`);
    return match[1];
  };
  return { kubernetes: version('k8s.io/kubernetes'), etcd: version('go.etcd.io/etcd/server/v3') };
}

/** Where the project keeps what it builds or fetches outside the repository. */
export function cacheRoot(): string {
  return (
    process.env.CONTROLPLANE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'azure-openai-operator')
  );
}

export function cacheDir(versions: Versions = pinnedVersions()): string {
  const root = cacheRoot();
  const graph = createHash('sha256')
    .update(readFileSync(join(moduleDir, 'go.sum')))
    .digest('hex')
    .slice(0, 12);
  return join(root, `kubernetes-${versions.kubernetes}-etcd-${versions.etcd}-${graph}`);
}

export function binaryPath(command: Command, dir: string = cacheDir()): string {
  return join(dir, command);
}

export function missingBinaries(dir: string = cacheDir()): Command[] {
  return (Object.keys(commands) as Command[]).filter((c) => !existsSync(binaryPath(c, dir)));
}
