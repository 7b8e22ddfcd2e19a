#!/bin/sh
# Builds the loket binary with its version (git describe) baked in:
#   deploy/build.sh && ./loket version
set -eu
cd "$(dirname "$0")/.."
v=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$v" -o loket ./cmd/loket
echo "built ./loket $v"
