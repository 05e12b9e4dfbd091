#!/bin/sh
# time-to-sign-in.sh [REPO] measures the first five minutes of a new user:
# the time from `git clone REPO` to a browser signed in through the demo
# (`go build ./examples/server`, `-demo`, then headless Chromium opens the
# printed URL and signs in with the printed password, as
# interop/test/demo-client.test.mjs does). REPO defaults to this checkout.
# It needs the interop packages (cd interop && npm ci) and the system
# Chromium. Run it with GOCACHE (and GOMODCACHE) pointing to empty
# directories to measure a machine that never built Go code.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
repo=${1:-$here}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s%N; }
t0=$(now)
git clone -q "$repo" "$work/gatehouse"
t1=$(now)
(cd "$here/interop" && GATEHOUSE_REPO="$work/gatehouse" node --test --test-name-pattern='^demo:' test/demo-client.test.mjs) >"$work/test.log" 2>&1 || {
	cat "$work/test.log"
	exit 1
}
t2=$(now)
grep '^# server start' "$work/test.log" || true
echo "clone $(( (t1 - t0) / 1000000 )) ms; build, start and sign in $(( (t2 - t1) / 1000000 )) ms; total $(( (t2 - t0) / 1000000 )) ms"
