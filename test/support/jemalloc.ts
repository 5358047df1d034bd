// The image's allocator, for the operator processes the tests, the demo and the bench
// start. The Dockerfile installs Debian's libjemalloc2 and preloads it (ADR 0011); here
// the same package is fetched once from Debian's archive, checked against a pinned
// digest and unpacked into the control plane's cache, outside the repository.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cacheRoot } from '../controlplane/binaries.ts';

/** Where the image puts the library, the path its `LD_PRELOAD` names. */
export const imageJemallocPath = '/usr/local/lib/libjemalloc.so.2';

// Debian bookworm's package, the one the image's `apt-get install` pins.
const version = '5.3.0-1';
const packages: Partial<
  Record<NodeJS.Architecture, { arch: string; triplet: string; sha256: string }>
> = {
  x64: {
    arch: 'amd64',
    triplet: 'x86_64-linux-gnu',
    sha256: 'a4117c23c5c8acf6c9678a6cb086f000b79476369da7efe8a78a70826956ad3d',
  },
  arm64: {
    arch: 'arm64',
    triplet: 'aarch64-linux-gnu',
    sha256: '866eba7688ec5cbb98200a05540c4909df6320557371b634b5d394cd32b9f252',
  },
};

/** The local copy of the image's libjemalloc.so.2, fetched on first use. */
export async function localJemalloc(): Promise<string> {
  const pkg = packages[process.arch];
  if (process.platform !== 'linux' || pkg === undefined) {
    throw new Error(
      `The image's allocator (Debian's libjemalloc2) is for Linux on x64 or arm64, not ${process.platform}/${process.arch}`,
    );
  }
  const path = join(cacheRoot(), `libjemalloc2-${version}-${pkg.arch}`, 'libjemalloc.so.2');
  if (existsSync(path)) return path;

  // The pinned digest is what vouches for the bytes; plain HTTP, which apt itself uses
  // for deb.debian.org, is the fallback where HTTPS is not let through.
  const debPathOnMirror = `deb.debian.org/debian/pool/main/j/jemalloc/libjemalloc2_${version}_${pkg.arch}.deb`;
  const response = await fetch(`https://${debPathOnMirror}`).catch(() =>
    fetch(`http://${debPathOnMirror}`),
  );
  // The one that answered, so an error names what was really fetched.
  const url = response.url;
  if (!response.ok) throw new Error(`Fetching ${url}: HTTP ${response.status}`);
  const deb = Buffer.from(await response.arrayBuffer());
  const digest = createHash('sha256').update(deb).digest('hex');
  if (digest !== pkg.sha256) {
    throw new Error(`${url} has sha256 ${digest}, not the pinned ${pkg.sha256}`);
  }
  const work = mkdtempSync(join(tmpdir(), 'jemalloc-'));
  try {
    const debPath = join(work, 'package.deb');
    const unpacked = join(work, 'root');
    writeFileSync(debPath, deb);
    mkdirSync(unpacked);
    // dpkg-deb where there is one; a .deb is an ar archive, so ar and tar elsewhere.
    execFileSync('sh', [
      '-c',
      'if command -v dpkg-deb >/dev/null; then dpkg-deb -x "$0" "$1"; else ar p "$0" data.tar.xz | tar -xJ -C "$1"; fi',
      debPath,
      unpacked,
    ]);
    mkdirSync(dirname(path), { recursive: true });
    // Test files start operators in parallel: each stages its own copy, and the
    // rename makes whichever lands the one that stays.
    const staged = `${path}.${process.pid}`;
    copyFileSync(join(unpacked, 'usr', 'lib', pkg.triplet, 'libjemalloc.so.2'), staged);
    renameSync(staged, path);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return path;
}
