#!/usr/bin/env bash
# Gatehouse's Cryptr API 2.0 management face, driven with curl.
#
# Read it as a tutorial: each step is a request you could type yourself.
# Run it from the repository root:
#
#   examples/cryptr/tutorial.sh
#
# It starts `go run ./examples/server` on a free port with an in-memory store
# and a known master API key, walks through the whole API, checks every
# answer, and stops the server. Its last step starts a throwaway SAML IdP
# (examples/sso/idp) for the headless SSO challenge.
#
# Variables (the same as examples/crafter/tutorial.sh and the server's own):
#   GATEHOUSE_URL             drive a server you started yourself instead
#   GATEHOUSE_MASTER_KEY      its master credential, ID:SECRET (the server's
#                             -master-key)
#   GATEHOUSE_ACCOUNT_DOMAIN  its -account-domain (default gatehouse)
#   GATEHOUSE_SERVER_BIN      run a server binary you built instead of
#                             building one
#
# It can run any number of times against one store: every organization, user
# domain and email it creates carries a fresh suffix, and at the end it
# deletes the users and MetaKeys it created. Cryptr API 2.0 has no call that
# deletes an organization, an application or an SSO connection, so those
# stay, under their unique names.
#
# Needs: go, curl, jq.
set -euo pipefail

for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "this tutorial needs $tool" >&2; exit 1; }
done

MASTER_KEY=${GATEHOUSE_MASTER_KEY:-tutorial-key:tutorial-secret-0123456789abcdef}
CLIENT_ID=${MASTER_KEY%%:*}
CLIENT_SECRET=${MASTER_KEY#*:}
ACCOUNT=${GATEHOUSE_ACCOUNT_DOMAIN:-gatehouse}
# RUN makes this run's names unique, so the tutorial can run again on the
# same store.
RUN=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
ORG="misapret-$RUN"

# --- 0. Start the example server ---------------------------------------------
SERVER_PID=""
if [[ -z "${GATEHOUSE_URL:-}" ]]; then
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
  GATEHOUSE_URL="http://127.0.0.1:$PORT"
  LOG=$(mktemp)
  # GATEHOUSE_SERVER_BIN runs an already built server instead of building one.
  BIN=${GATEHOUSE_SERVER_BIN:-}
  if [[ -z "$BIN" ]]; then
    BIN="${TMPDIR:-/tmp}/gatehouse-tutorial-server"
    go build -o "$BIN" ./examples/server
  fi
  "$BIN" -addr "127.0.0.1:$PORT" -store memory: \
    -master-key "$MASTER_KEY" -account-domain "$ACCOUNT" >"$LOG" 2>&1 &
  SERVER_PID=$!
  trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; rm -f "$LOG"' EXIT
  for _ in $(seq 1 100); do
    curl -fsS "$GATEHOUSE_URL/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
    sleep 0.1
  done
fi
API="$GATEHOUSE_URL/api/v2"
echo "Gatehouse at $GATEHOUSE_URL"

# Helpers. `call METHOD PATH [curl args...]` keeps the JSON answer in $BODY
# and the status in $STATUS. `expect CODE` stops the tutorial if the last status
# differs.
STATUS=""
call() {
  local method=$1 path=$2; shift 2
  local out
  out=$(curl -sS -X "$method" "$API$path" -H "Authorization: Bearer ${TOKEN:-}" -w '\n%{http_code}' "$@")
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
}
# `show FILTER` prints the last answer through jq.
show() { echo "$BODY" | jq "$@"; }
expect() {
  if [[ "$STATUS" != "$1" ]]; then
    echo "expected HTTP $1, got $STATUS: $BODY" >&2
    exit 1
  fi
}
step() { printf '\n=== %s\n' "$*"; }

# --- 1. Management authentication --------------------------------------------
step "1. Exchange the API key for a management token (client_credentials)"
# JSON body; the account may be named domain, tenant_domain or audience.
TOKEN=$(curl -sS "$API/oauth/token" -H 'Content-Type: application/json' \
  -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"$CLIENT_ID\",\"client_secret\":\"$CLIENT_SECRET\",\"domain\":\"$ACCOUNT\"}" | jq -r .access_token)
[[ "$TOKEN" == *.*.* ]] || { echo "no token" >&2; exit 1; }
echo "management token: ${TOKEN:0:32}..."
# The same as a form, the way Cryptr's Kotlin SDK sends it:
curl -sS "$API/oauth/token" -d grant_type=client_credentials -d client_id="$CLIENT_ID" \
  -d client_secret="$CLIENT_SECRET" -d tenant_domain="$ACCOUNT" | jq '{token_type, expires_in, scope}'
# The token is a JWT with jtt=api_key, the key's permissions in scp and its
# environment in dbs:
echo "$TOKEN" | cut -d. -f2 | tr '_-' '/+' | { read -r p; printf '%s' "$p"; printf '%*s' $(( (4 - ${#p} % 4) % 4 )) '' | tr ' ' '='; } | base64 -d 2>/dev/null | jq '{jtt, scp, dbs, tnt, sub}'

step "A request without a token is 401"
TOKEN_SAVED=$TOKEN; TOKEN=""
call GET /organizations; show -c .; expect 401
TOKEN=$TOKEN_SAVED

# --- 2. Organizations ---------------------------------------------------------
step "2. Create an organization; autocomplete_address fills locality, state and country"
call POST /organizations -d name="Misapret $RUN" -d autocomplete_address=Lille \
  -d privacy_policy_url=https://misapret.com/policy -d "allowed_email_domains[]=misapret-$RUN.test"; show .
expect 201

step "Its domain is a slug of its name ($ORG); a second 'misapret $RUN' is a conflict (409)"
call POST /organizations -H 'Content-Type: application/json' -d "{\"name\":\"misapret $RUN\"}"; show .
expect 409

step "Invalid input is a 422 naming each field"
call POST /organizations -H 'Content-Type: application/json' \
  -d '{"autocomplete_address":"Nowhere At All","country_name":"ZZ"}'; show .
expect 422

step "Retrieve and update it (the domain never changes)"
call GET /organizations/$ORG; show '{domain, name, locality, state, country_name}'
expect 200
call PUT /organizations/$ORG -d locality="San Francisco" -d state=California -d country_name=US \
  -d terms_of_service_url=https://misapret.com/terms; show '{domain, locality, state, country_name, terms_of_service_url}'
expect 200
call POST /organizations -d name="Shark Academy $RUN"; show -c '{domain}'
SHARK=$(echo "$BODY" | jq -r .domain)
expect 201

step "List organizations, most recent first (page/current_page, per_page)"
call GET "/organizations?per_page=1&page=2"; show '{total, pagination, domains: [.data[].domain]}'
expect 200

# --- 3. Users -----------------------------------------------------------------
step "3. Create a user (the document's JSON sample)"
call POST /org/$ORG/users -H 'Content-Type: application/json' -d '{
  "profile": {
    "address": {"formatted": "165 avenue de Bretagne 59000 Lille, France", "street_address": "165 avenue de Bretagne",
                "city": "Lille", "region": "Nord", "postal_code": "59000", "country": "FR"},
    "given_name": "Janis", "family_name": "Joplin", "name": "Janis Joplin", "nickname": "Jany",
    "email": "janis.joplin@example.com", "gender": "female", "birthdate": "1943-01-19",
    "zoneinfo": "America/Los_Angeles", "locale": "fr", "phone_number": "+1-555-415-1337"}}'
expect 201
USER_ID=$(echo "$BODY" | jq -r .id)
echo "$BODY" | jq '{__type__, __environment__, id, profile: {email: .profile.email, given_name: .profile.given_name, address: .profile.address.locality}}'

step "Create another one as a form, with bracketed keys"
call POST /org/$ORG/users -d email=jimi@example.com -d 'profile[given_name]=Jimi' \
  -d 'profile[family_name]=Hendrix'; show -c '{id, email: .profile.email, given_name: .profile.given_name}'
expect 201
JIMI_ID=$(echo "$BODY" | jq -r .id)

step "Bad input names every field (422); a taken email is 409"
call POST /org/$ORG/users -H 'Content-Type: application/json' \
  -d '{"profile":{"email":"not-an-email","birthdate":"1943-13-45","phone_number":"call me"}}'; show .errors
expect 422
call POST /org/$ORG/users -d email=JANIS.JOPLIN@example.com; show .errors
expect 409

step "Retrieve by id and by email; update; list"
call GET "/org/$ORG/users/$USER_ID"; show -c '{id, nickname: .profile.nickname}'
expect 200
call GET /org/$ORG/user-by-email/janis.joplin@example.com; show -c '{id}'
expect 200
call PUT "/org/$ORG/users/$USER_ID" -d profile=https://janisjoplin.com -d 'nickname=Pearl'; show -c '{profile_url: .profile.profile, nickname: .profile.nickname}'
expect 200
call GET /org/$ORG/users; show -c '{total, emails: [.data[].profile.email]}'
expect 200

# --- 4. Applications ----------------------------------------------------------
step "4. Create a React application (lists as allowed_*[] form fields)"
call POST /org/$ORG/applications -d name="App of Misapret" -d application_type=react \
  -d description="Everything to deal with bank" \
  -d 'allowed_redirect_urls[]=http://localhost:3000' -d 'allowed_origins_cors[]=http://localhost:3000' \
  -d 'allowed_web_origins[]=http://localhost:3000' -d 'allowed_logout_urls[]=http://localhost:3000'
expect 201
CLIENT=$(echo "$BODY" | jq -r .client_id)
echo "$BODY" | jq '{__type__, __database__, __access__, client_id, application_type, allowed_redirect_urls}'

step "A machine (backend) application gets a client secret, shown once"
call POST /org/$ORG/applications -H 'Content-Type: application/json' \
  -d '{"name":"Billing backend","application_type":"machine"}'; show -c '{client_id, secret_shown: (.client_secret != null)}'
expect 201

step "Update, retrieve, list"
call PUT "/org/$ORG/applications/$CLIENT" -H 'Content-Type: application/json' -d '{"application_type":"angular"}'; show -c '{client_id, application_type}'
expect 200
call GET "/org/$ORG/applications/$CLIENT"; show -c '{name, application_type}'
expect 200
call GET /org/$ORG/applications; show -c '{total_count, pagination}'
expect 200

# --- 5. Token customization -----------------------------------------------------
step "5. Create MetaKeys: values that go into the users' JWTs"
call POST /org/$ORG/token-customization/user-metakey -H 'Content-Type: application/json' \
  -d '{"user_metakey":{"name":"displayname","required":false,"type":"string"}}'; show -c '{__type__, name, type, required}'
expect 201
call POST /org/$ORG/token-customization/user-metakey -d name=seniority -d type=integer; show -c '{name, type}'
expect 201
call GET /org/$ORG/token-customization/user-metakey; show -c '{total, names: [.data[].name]}'
expect 200

step "Set a user's MetaData; the value is checked against the key's type"
call PATCH /org/$ORG/token-customization/set-user-metadata -H 'Content-Type: application/json' \
  -d "{\"user_id\":\"$USER_ID\",\"key_name\":\"displayname\",\"key_value\":\"awesome-astronaut\"}"
show -c '[.metadata[] | {key: .key.name, value}]'
expect 200
call PATCH /org/$ORG/token-customization/set-user-metadata -H 'Content-Type: application/json' \
  -d "{\"user_id\":\"$USER_ID\",\"key_name\":\"seniority\",\"key_value\":\"very\"}"; show -c .errors
expect 422

step "See what the JWTs will look like (samples are signed but never verify)"
call GET "/org/$ORG/token-customization/sample?user_id=$USER_ID"
if [[ "$STATUS" == 404 ]]; then
  echo "(this server does not mount the JWT sample endpoint)"
else
  expect 200
  show -c '{__type__, access_token_keys, id_token_keys}'
fi

step "Remove a MetaKey: its values go with it"
call DELETE /org/$ORG/token-customization/user-metakey -H 'Content-Type: application/json' \
  -d '{"key_name":"seniority"}'; show -c '{deleted, type, name: .resource.name}'
expect 200

# --- 6. Delete a user ---------------------------------------------------------
step "6. Delete a user"
call DELETE "/org/$ORG/users/$JIMI_ID"; show -c '{deleted, type, id: .resource.id}'
expect 200
call GET "/org/$ORG/users/$JIMI_ID"; show -c .
expect 404

# --- 7. Log events ------------------------------------------------------------
step "7. Every write left a log event, most recent first"
call GET "/org/$ORG/log-events?per_page=5"; show -c '{total_count, paginate, codes: [.data[].event_code]}'
expect 200
call GET "/org/$ORG/log-events?code=USER_CREATED"; show -c '{total_count, emails: [.data[].email]}'
expect 200
call GET "/org/$ORG/log-events?client_id=$CLIENT"; show -c '[.data[].event_code]'
expect 200

# --- 8. Tenant isolation --------------------------------------------------------
step "8. Unknown organizations and resources are 404"
call GET /organizations/nope; show -c .
expect 404
call GET "/org/$SHARK/users/$USER_ID"; show -c .
expect 404

# --- 9. Headless SSO challenge ---------------------------------------------------
step "9. Headless SSO: your backend signs a user in through the organization's SAML IdP"
# A throwaway SAML IdP (examples/sso/idp: crewjam/saml's samlidp, not
# Gatehouse code) plays the customer's identity provider, with one user.
IDP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 19090)
IDP="http://127.0.0.1:$IDP_PORT"
IDP_BIN="${TMPDIR:-/tmp}/gatehouse-tutorial-idp"
go build -o "$IDP_BIN" ./examples/sso/idp
# The organization owns the email domain acme-$RUN.test (an email domain
# belongs to one organization per store).
ACME_MAIL="acme-$RUN.test"
"$IDP_BIN" -addr "127.0.0.1:$IDP_PORT" -user "alice:secret:alice@$ACME_MAIL:Alice:Liddell" >/dev/null 2>&1 &
IDP_PID=$!
JAR=$(mktemp)
trap 'kill "$IDP_PID" 2>/dev/null; wait "$IDP_PID" 2>/dev/null; rm -f "$JAR"; [[ -n "$SERVER_PID" ]] && { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; rm -f "$LOG"; }' EXIT
for _ in $(seq 1 100); do curl -fsS "$IDP/metadata" >/dev/null 2>&1 && break; sleep 0.1; done

# The organization owns $ACME_MAIL; its application lists the backend's
# callback; its SSO connection gets the IdP's metadata, and the IdP
# registers ours.
call POST /organizations -d name="Acme $RUN" -d "allowed_email_domains[]=$ACME_MAIL"; expect 201
ACME=$(echo "$BODY" | jq -r .domain)
call POST "/org/$ACME/applications" -d name="Acme backend" -d application_type=regular_web \
  -d 'allowed_redirect_urls[]=http://localhost:3000/callback'; expect 201
call POST "/org/$ACME/sso-connections" -d sso_admin_email="it@$ACME_MAIL" -d send_email=false \
  -d application_id="$(echo "$BODY" | jq -r .client_id)"; expect 201
IDP_ID=$(echo "$BODY" | jq -r .id)
curl -sS "$GATEHOUSE_URL/enterprise/$IDP_ID/metadata" | curl -sS -X PUT --data-binary @- "$IDP/services/gatehouse" >/dev/null
call PUT "/sso-connections/$IDP_ID" --data-urlencode metadata="$(curl -sS "$IDP/metadata")" -d active=true; expect 200

step "Create the challenge for a user's email (or org_domain, or idp_id): Cryptr's SDK shape"
call POST /sso-saml-challenges -d user_email="alice@$ACME_MAIL" -d redirect_uri=http://localhost:3000/callback
expect 201
show '{api_key_id, database, saml_idp_id, redirect_uri, request_id, expired_at, authorization_url}'
AUTH_URL=$(echo "$BODY" | jq -r .authorization_url)

step "The user opens authorization_url and signs in at the IdP (a browser, played by curl)"
# hidden NAME: the value of a hidden field of the last page, HTML unescaped.
hidden() {
  grep -o "name=\"$1\" value=\"[^\"]*\"" <<<"$PAGE" | head -1 | sed -e 's/.*value="//' -e 's/"$//' \
    -e 's/&#43;/+/g' -e 's/&#61;/=/g' -e 's/&#34;/"/g' -e "s/&#39;/'/g" -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g'
}
action() { grep -o '<form[^>]*action="[^"]*"' <<<"$PAGE" | head -1 | sed -e 's/.*action="//' -e 's/"$//' -e 's/&amp;/\&/g'; }
PAGE=$(curl -sS -L -b "$JAR" -c "$JAR" "$AUTH_URL")     # challenge -> connection -> IdP login form
PAGE=$(curl -sS -b "$JAR" -c "$JAR" "$(action)" --data-urlencode user=alice --data-urlencode password=secret \
  --data-urlencode SAMLRequest="$(hidden SAMLRequest)" --data-urlencode RelayState="$(hidden RelayState)")
# The IdP's answer posts the SAMLResponse to Gatehouse's ACS, which sends the
# browser to redirect_uri with a single-use code:
CALLBACK=$(curl -sS -o /dev/null -w '%{redirect_url}' -b "$JAR" -c "$JAR" "$(action)" \
  --data-urlencode SAMLResponse="$(hidden SAMLResponse)" --data-urlencode RelayState="$(hidden RelayState)")
echo "callback: ${CALLBACK%%\?*}?code=...&request_id=..."
CODE=$(sed -e 's/.*[?&]code=\([^&]*\).*/\1/' <<<"$CALLBACK")
[[ -n "$CODE" && "$CODE" != "$CALLBACK" ]] || { echo "no code in $CALLBACK" >&2; exit 1; }

step "Your backend exchanges the code with its management token, once"
# The code belongs to the API key's organizations and environment; a key of
# another organization or environment gets invalid_grant, as for an unknown code.
call POST /oauth/token -d grant_type=authorization_code -d code="$CODE"
expect 200
show '{token_type, scope, expires_in, has_id_token: (.id_token != null), has_refresh_token: (.refresh_token != null)}'
echo "$BODY" | jq -r .access_token | cut -d. -f2 | tr '_-' '/+' | { read -r p; printf '%s' "$p"; printf '%*s' $(( (4 - ${#p} % 4) % 4 )) '' | tr ' ' '='; } | base64 -d 2>/dev/null | jq -c '{tnt, sci, ips, email}'
call POST /oauth/token -d grant_type=authorization_code -d code="$CODE"; show -c .
expect 400

# --- 10. Clean up ----------------------------------------------------------------
step "10. Clean up: delete the users and the MetaKey this run created"
call DELETE "/org/$ORG/users/$USER_ID"; expect 200
call DELETE /org/$ORG/token-customization/user-metakey -H 'Content-Type: application/json' \
  -d '{"key_name":"displayname"}'; expect 200
call GET "/org/$ACME/user-by-email/alice@$ACME_MAIL"; expect 200
call DELETE "/org/$ACME/users/$(echo "$BODY" | jq -r .id)"; expect 200
echo "kept (no delete in Cryptr API 2.0): organizations $ORG, $SHARK and $ACME with their applications"

echo
echo "Tutorial complete: every step answered as expected."
