#!/usr/bin/env bash
# The project's test command (see README.md). It installs what the tests
# need when it is missing (a PostgreSQL server, Chromium, the interop tests'
# npm packages), then runs go vet, the whole Go test suite with the race
# detector, and the interoperability tests with real third-party clients.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo /root/go)/bin"

apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "test.sh: $* is missing and I am not root to install it" >&2
    return 1
  fi
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# A PostgreSQL server for store/postgres (the tests start a throwaway cluster).
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  echo "== installing PostgreSQL server"
  apt_install postgresql
fi
export GATEHOUSE_TEST_REQUIRE_POSTGRES=1

# Chromium and npm packages for the interoperability tests.
if [ -f interop/package.json ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing Chromium"
    apt_install chromium chromium-driver fonts-liberation
  fi
  echo "== installing interop npm packages"
  (cd interop && npm ci --no-audit --no-fund --loglevel=error)
fi

# RS256 is signed by the system's OpenSSL 3 libcrypto, loaded at run time
# (tokens/rsasign_dl.go): on Linux, the tests must find it rather than
# test only the crypto/rsa fallback.
if [ "$(go env GOOS)" = linux ] && [ "$(go env CGO_ENABLED)" = 1 ]; then
  if ! PATH="$PATH:/sbin:/usr/sbin" ldconfig -p 2>/dev/null | grep -q 'libcrypto\.so\.3 '; then
    echo "== installing OpenSSL 3's libcrypto"
    apt_install libssl3
  fi
  export GATEHOUSE_TEST_REQUIRE_OPENSSL=1
fi

echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 25m ./...
# The pure-Go build (CGO_ENABLED=0: RS256 by crypto/rsa) and the opt-in
# BoringCrypto build (GOEXPERIMENT=boringcrypto), on the packages they
# change (README "RS256 signatures: OpenSSL by default, pure Go on request").
echo "== go test with CGO_ENABLED=0 (tokens)"
CGO_ENABLED=0 go vet ./tokens/
CGO_ENABLED=0 go test -count=1 ./tokens/
case "$(go env GOOS)/$(go env GOARCH)" in
linux/amd64 | linux/arm64)
  echo "== go test with GOEXPERIMENT=boringcrypto (internal/seal, tokens)"
  GOEXPERIMENT=boringcrypto go test -count=1 ./internal/seal/ ./tokens/
  ;;
esac
if [ -f interop/package.json ]; then
  echo "== interop (node --test)"
  (cd interop && npm test)
fi
