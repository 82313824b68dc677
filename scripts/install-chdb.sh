#!/usr/bin/env bash
# Installs libchdb.so (ClickHouse as a library, ~560 MB) for the embedded
# warehouse, from the npm package that ships it, into the cache directory
# where internal/warehouse/chdb looks for it:
#   ${VIGIE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vigie}/libchdb.so
# Idempotent: a verified library already there is left alone. Prints the path.
set -euo pipefail

version="26.7.3-stable.1"
package="@chdb/lib-linux-x64-gnu@${version}"
sha256="36ad4e999882821ef13cf2d0f52c93f48e6ee1b4498b35a201c23ce4b8d15bf5"

cache_dir="${VIGIE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vigie}"
lib="${cache_dir}/libchdb.so"

verify() { # $1: file; checksum, then the symbol the Go binding calls
	[ -f "$1" ] || return 1
	echo "${sha256}  $1" | sha256sum --check --status || return 1
	if command -v nm >/dev/null 2>&1; then
		nm -D --defined-only "$1" 2>/dev/null | grep -qw chdb_connect || return 1
	fi
}

if verify "$lib"; then
	echo "$lib"
	exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
	echo "install-chdb: npm not found, installing it with apt-get" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq npm >&2
fi

mkdir -p "$cache_dir"
tmp="$(mktemp -d "${cache_dir}/.install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "install-chdb: fetching ${package} (about 180 MB)" >&2
for attempt in 1 2 3; do # a registry hiccup should not fail a fresh machine's set-up
	if (cd "$tmp" && npm pack --silent "$package" >/dev/null); then
		break
	fi
	[ "$attempt" = 3 ] && { echo "install-chdb: npm pack ${package} failed 3 times" >&2; exit 1; }
	echo "install-chdb: npm pack failed, retrying in $((attempt * 5)) s" >&2
	rm -f "$tmp"/*.tgz
	sleep $((attempt * 5))
done
tarball="$(ls "$tmp"/*.tgz)"
tar -xzf "$tarball" -C "$tmp" package/libchdb.so

if ! verify "$tmp/package/libchdb.so"; then
	echo "install-chdb: ${package} did not verify (sha256 ${sha256}, symbol chdb_connect)" >&2
	exit 1
fi
# Same file system: the rename is atomic, so a concurrent reader never sees half a library.
mv -f "$tmp/package/libchdb.so" "$lib"
echo "$lib"
