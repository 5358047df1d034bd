#!/usr/bin/env bash
# Regenerates go.mod/go.sum for one Kubernetes version. k8s.io/kubernetes maps
# its staging modules with `=> ./staging/...`, which a consumer ignores, so each
# one needs an explicit replace to the published module of the same release.
set -euo pipefail
cd "$(dirname "$0")"
version="${1:?usage: gen-gomod.sh v1.X.Y}"
staging="v0.${version#v1.}"
modfile="$(go mod download -json "k8s.io/kubernetes@${version}" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
{
  echo "module github.com/runwhen/azure-openai-operator/test/controlplane"
  echo
  grep -E '^go ' "$modfile"
  echo
  echo "require k8s.io/kubernetes ${version}"
  echo
  echo "replace ("
  sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"${staging}"'#p' "$modfile"
  echo ")"
} > go.mod
rm -f go.sum
go mod tidy
