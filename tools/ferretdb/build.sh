#!/usr/bin/env bash
# Builds the test-only FerretDB server (tools/ferretdb) into a cache directory
# outside the repo and prints the binary's path as the last line of stdout.
#
#   bash tools/ferretdb/build.sh            # -> .../ferretdb-v1.24.2/ferretdb
#
# Cache: ${CPA_CACHE_DIR:-$HOME/.cache/cpa}/ferretdb-<version>/ferretdb, where
# <version> is the FerretDB version required in go.mod. The build is skipped
# when the binary exists and was built from the same main.go, go.mod and go.sum
# (a sha256 stamp next to it records them; content, not mtimes, so a fresh
# clone reuses the cached binary). Set FERRETDB_REBUILD=1 to force a build.
#
# Needs Go >= 1.24 (`go` on PATH, or /usr/local/go/bin/go) and the Go module
# proxy. Cold (empty Go caches): ~2 min on 2 cores, ~20 s of it module downloads;
# warm Go build cache: ~2 s; cached binary: ~0.1 s.
# Everything but the final path goes to stderr; any failure exits non-zero
# with Go's own error message.
set -euo pipefail

src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
  echo "tools/ferretdb/build.sh: ERROR: $*" >&2
  exit 1
}

go_bin="$(command -v go || true)"
if [[ -z "$go_bin" && -x /usr/local/go/bin/go ]]; then
  go_bin=/usr/local/go/bin/go
fi
[[ -n "$go_bin" ]] || die "no Go toolchain found (need 'go' >= 1.24 on PATH or at /usr/local/go/bin/go)"

version="$(awk '$1 == "github.com/FerretDB/FerretDB" { print $2; exit }' "$src_dir/go.mod")"
if [[ -z "$version" ]]; then
  # single-line form: require github.com/FerretDB/FerretDB vX.Y.Z
  version="$(awk '$1 == "require" && $2 == "github.com/FerretDB/FerretDB" { print $3; exit }' "$src_dir/go.mod")"
fi
[[ -n "$version" ]] || die "cannot find the github.com/FerretDB/FerretDB version in $src_dir/go.mod"

cache_root="${CPA_CACHE_DIR:-${HOME:-/tmp}/.cache/cpa}"
out_dir="$cache_root/ferretdb-$version"
out_bin="$out_dir/ferretdb"
stamp_file="$out_dir/ferretdb.stamp"

mkdir -p "$out_dir" || die "cannot create cache directory $out_dir"

stamp="$(cd "$src_dir" && cat main.go go.mod go.sum | sha256sum | awk '{ print $1 }')"
stamp="$stamp $("$go_bin" env GOOS GOARCH | tr '\n' ' ')"

is_fresh() {
  [[ -x "$out_bin" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]
}

# Serialize concurrent builds (parallel test processes) when flock exists.
if command -v flock > /dev/null 2>&1; then
  exec 9> "$out_dir/.build.lock"
  flock 9
fi

if [[ "${FERRETDB_REBUILD:-}" != "1" ]] && is_fresh; then
  echo "$out_bin"
  exit 0
fi

echo "tools/ferretdb/build.sh: building FerretDB $version with $("$go_bin" version) into $out_bin (a cold build takes ~2 min)..." >&2

tmp_bin="$out_dir/.ferretdb.tmp.$$"
trap 'rm -f "$tmp_bin"' EXIT

start=$(date +%s)
# -mod=readonly: go.sum is committed and complete; never rewrite the repo's files.
# CGO_ENABLED=0: the SQLite driver (modernc.org/sqlite) is pure Go; no C compiler needed.
if ! (cd "$src_dir" && \
      GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
      "$go_bin" build -trimpath -ldflags="-s -w" -o "$tmp_bin" . >&2); then
  die "go build failed in $src_dir (see Go's error above)"
fi

mv -f "$tmp_bin" "$out_bin"
echo "$stamp" > "$stamp_file"
echo "tools/ferretdb/build.sh: built in $(( $(date +%s) - start )) s" >&2

echo "$out_bin"
