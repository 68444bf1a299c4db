#!/usr/bin/env bash
# Regenerates the Go code for every .proto file in this folder with
# internal/protogen: a pure-Go protoc and protoc-gen-go, pinned by go.mod,
# so it needs nothing but Go.
#
#   go generate ./messages/...      (or: bash messages/generate.sh)
#   OUT=/some/dir bash messages/generate.sh   writes there instead (CI's drift check)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here}
case $out in /*) ;; *) out=$PWD/$out ;; esac # relative to the caller, not the module root

cd "$here/.."
exec go run ./internal/protogen -proto messages -out "$out"
