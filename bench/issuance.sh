#!/usr/bin/env bash
# Issuance benchmark harness (not part of the test run): starts the example
# server on a bolt store, creates one machine application per signing
# algorithm through the Cryptr API, and measures client_credentials
# issuance on loopback beside oidc-provider (when node and npm are present)
# and bare signing. See bench/README.md. Flags go to the Go program:
#   bench/issuance.sh -c 16 -d 10s -rounds 2 -peer auto
set -euo pipefail
cd "$(dirname "$0")/.."
exec nice -n 10 go run ./bench/issuance -repo . "$@"
