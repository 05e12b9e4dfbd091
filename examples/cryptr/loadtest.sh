#!/usr/bin/env bash
# Loopback load test of the Cryptr management face: authenticated GET of a
# user, with keep-alive, through wrk (Debian package "wrk"), against the
# example server on an in-memory store. The load tool shares the machine
# with the server.
#
#   examples/cryptr/loadtest.sh [duration, default 10s] [connections, default 32]
set -euo pipefail
DURATION=${1:-10s}
CONNS=${2:-32}
for tool in curl jq wrk go; do
  command -v "$tool" >/dev/null || { echo "this script needs $tool" >&2; exit 1; }
done
KEY=load-key
SECRET=load-secret-0123456789abcdef
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18081)
BASE="http://127.0.0.1:$PORT"
# GATEHOUSE_SERVER_BIN runs an already built server instead of building one.
BIN=${GATEHOUSE_SERVER_BIN:-}
if [[ -z "$BIN" ]]; then
  BIN="${TMPDIR:-/tmp}/gatehouse-loadtest-server"
  go build -o "$BIN" ./examples/server
fi
"$BIN" -addr "127.0.0.1:$PORT" -store memory: -master-key "$KEY:$SECRET" -account-domain gatehouse >/dev/null 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null' EXIT
for _ in $(seq 1 100); do curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

TOKEN=$(curl -sS "$BASE/api/v2/oauth/token" -d grant_type=client_credentials -d client_id=$KEY \
  -d client_secret=$SECRET -d domain=gatehouse | jq -r .access_token)
AUTH="Authorization: Bearer $TOKEN"
curl -sS -H "$AUTH" "$BASE/api/v2/organizations" -d name=Misapret >/dev/null
for i in $(seq 1 50); do
  curl -sS -H "$AUTH" "$BASE/api/v2/org/misapret/users" -d email="user$i@example.com" -d given_name=Jane >/dev/null
done
USER=$(curl -sS -H "$AUTH" "$BASE/api/v2/org/misapret/user-by-email/user1@example.com" | jq -r .id)

echo "GET /api/v2/org/misapret/users/$USER, $CONNS connections, $DURATION:"
wrk -t2 -c"$CONNS" -d"$DURATION" -H "$AUTH" "$BASE/api/v2/org/misapret/users/$USER"
echo
echo "GET /api/v2/org/misapret/users (page of 8), $CONNS connections, $DURATION:"
wrk -t2 -c"$CONNS" -d"$DURATION" -H "$AUTH" "$BASE/api/v2/org/misapret/users"
