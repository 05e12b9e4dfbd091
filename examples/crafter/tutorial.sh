#!/usr/bin/env bash
# A tour of Gatehouse's Crafter Profile 4.5 API (/api/1) with curl, sending
# what the official Java client sends: ".json" URLs, POST parameters as
# form bodies, JSON bodies (with accessTokenId in the query string) for
# tenants, attribute definitions and access tokens.
#
# It takes the server's own GATEHOUSE_* variables, so one set of exports
# drives both (the same as examples/cryptr/tutorial.sh):
#
#   export GATEHOUSE_MASTER_KEY=tutorial:$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
#   export GATEHOUSE_MONITORING_TOKEN=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
#   export GATEHOUSE_MAIL_DIR=$(mktemp -d) GATEHOUSE_STORE=memory:
#   go run ./examples/server &
#   examples/crafter/tutorial.sh
#
# Variables:
#   GATEHOUSE_URL               the server (default http://127.0.0.1:8080)
#   GATEHOUSE_MASTER_KEY        its master credential, ID:SECRET (-master-key);
#                               SECRET is the master token's accessTokenId.
#                               ACCESS_TOKEN=SECRET still works.
#   GATEHOUSE_MAIL_DIR          optional (-mail-dir): read the reset link from
#                               the .eml file (MAIL_DIR still works)
#   GATEHOUSE_MONITORING_TOKEN  optional (-monitoring-token; MONITORING_TOKEN
#                               still works)
# Needs curl and jq. Its tenant and application names are unique to each
# run and everything it creates is deleted at the end, so it can run any
# number of times against one store.
set -euo pipefail

BASE="${GATEHOUSE_URL:-http://127.0.0.1:8080}/api/1"
if [ -n "${GATEHOUSE_MASTER_KEY:-}" ]; then
	TOKEN=${GATEHOUSE_MASTER_KEY#*:}
else
	TOKEN="${ACCESS_TOKEN:?set GATEHOUSE_MASTER_KEY to the master credential ID:SECRET of the server}"
fi
MAIL_DIR=${GATEHOUSE_MAIL_DIR:-${MAIL_DIR:-}}
MONITORING_TOKEN=${GATEHOUSE_MONITORING_TOKEN:-${MONITORING_TOKEN:-}}
command -v jq >/dev/null || { echo "this tutorial needs jq" >&2; exit 1; }

BODY=$(mktemp)
trap 'rm -f "$BODY" "${PNG:-}"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# call METHOD PATH [curl arguments...]: prints the answer, fails on an
# HTTP error, leaves the body in $BODY.
call() {
	local method=$1 path=$2
	shift 2
	local status
	status=$(curl -sS -o "$BODY" -w '%{http_code}' -X "$method" "$BASE$path" "$@")
	printf '%s %s -> %s\n' "$method" "$path" "$status"
	if [ -s "$BODY" ] && jq -e . "$BODY" >/dev/null 2>&1; then jq -c . "$BODY" | cut -c1-400; fi
	if [ "$status" -ge 400 ]; then
		echo "unexpected HTTP $status" >&2
		exit 1
	fi
}

# expect STATUS METHOD PATH [curl arguments...]: checks an error answer.
expect() {
	local want=$1 method=$2 path=$3
	shift 3
	local status
	status=$(curl -sS -o "$BODY" -w '%{http_code}' -X "$method" "$BASE$path" "$@")
	printf '%s %s -> %s (expected %s) %s\n' "$method" "$path" "$status" "$want" "$(cat "$BODY")"
	[ "$status" = "$want" ] || { echo "expected HTTP $want" >&2; exit 1; }
}

json() { jq -r "$1" "$BODY"; }

# A fresh suffix per run: the tutorial can run again on the same store.
RUN=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
TENANT="tutorial-$RUN"

step "1. An access token for our application (master only; JSON body)"
call POST "/access_token/create.json?accessTokenId=$TOKEN" -H 'Content-Type: application/json' \
	--data-binary '{"application":"tutorial-app-'"$RUN"'","master":false,
	  "tenantPermissions":[{"tenant":"*","allowedActions":["READ_TENANT","MANAGE_PROFILES","MANAGE_TICKETS"]}]}'
APP_TOKEN=$(json .id)
echo "application token: ${APP_TOKEN:0:8}... (256 random bits)"

step "2. A tenant (an organization: its name is its domain slug)"
call POST "/tenant/create.json?accessTokenId=$TOKEN" -H 'Content-Type: application/json' --data-binary @- <<JSON
{"name":"$TENANT","verifyNewProfiles":false,"availableRoles":["USER","ADMIN"],
 "attributeDefinitions":[
  {"name":"firstName","metadata":{"label":"First Name","type":"TEXT","displayOrder":0},
   "permissions":[{"application":"*","allowedActions":["*"]}]},
  {"name":"department","metadata":{"label":"Department","type":"TEXT"},"indexed":true,
   "permissions":[{"application":"*","allowedActions":["*"]}]}]}
JSON
expect 400 POST "/tenant/create.json?accessTokenId=$TOKEN" -H 'Content-Type: application/json' --data-binary '{"name":"Not A Slug"}'

step "3. Roles and attribute definitions (form and JSON bodies)"
call POST "/tenant/$TENANT/roles/add.json" --data-urlencode "accessTokenId=$TOKEN" --data-urlencode "role=EDITOR"
call POST "/tenant/$TENANT/attribute_definitions/add.json?accessTokenId=$TOKEN" -H 'Content-Type: application/json' \
	--data-binary '[{"name":"newsletter","defaultValue":"weekly","permissions":[{"application":"*","allowedActions":["*"]}]}]'

step "4. Profiles (form bodies; attributes is a JSON string)"
call POST "/profile/create.json" --data-urlencode "accessTokenId=$APP_TOKEN" --data-urlencode "tenantName=$TENANT" \
	--data-urlencode "username=alice" --data-urlencode "password=correct horse battery" \
	--data-urlencode "email=alice-$RUN@example.com" --data-urlencode "enabled=true" --data-urlencode "role=USER" \
	--data-urlencode 'attributes={"firstName":"Alice","department":"R&D"}'
ALICE=$(json .id)
call POST "/profile/create.json" --data-urlencode "accessTokenId=$APP_TOKEN" --data-urlencode "tenantName=$TENANT" \
	--data-urlencode "username=bob" --data-urlencode "password=another good one" \
	--data-urlencode "email=bob-$RUN@example.com" --data-urlencode "enabled=true" --data-urlencode "role=USER" \
	--data-urlencode "role=ADMIN" --data-urlencode 'attributes={"firstName":"Bob","department":"Sales"}'
BOB=$(json .id)
expect 409 POST "/profile/create.json" --data-urlencode "accessTokenId=$APP_TOKEN" --data-urlencode "tenantName=$TENANT" \
	--data-urlencode "username=alice" --data-urlencode "email=alice2-$RUN@example.com" --data-urlencode "enabled=true"

step "5. Reads and queries (GET parameters in the query string)"
call GET "/profile/$ALICE.json?accessTokenId=$APP_TOKEN&attributeToReturn=firstName"
call GET "/profile/by_username.json?accessTokenId=$APP_TOKEN&tenantName=$TENANT&username=bob"
call GET "/profile/by_query.json" -G --data-urlencode "accessTokenId=$APP_TOKEN" --data-urlencode "tenantName=$TENANT" \
	--data-urlencode "query={username: {\$regex: '.*o.*', \$options: 'i'}}" --data-urlencode "sortBy=username" --data-urlencode "sortOrder=ASC"
call GET "/profile/by_attribute_value.json" -G --data-urlencode "accessTokenId=$APP_TOKEN" --data-urlencode "tenantName=$TENANT" \
	--data-urlencode "attributeName=department" --data-urlencode "attributeValue=Sales"
call GET "/profile/by_role.json?accessTokenId=$APP_TOKEN&tenantName=$TENANT&role=ADMIN"
call GET "/profile/range.json?accessTokenId=$APP_TOKEN&tenantName=$TENANT&sortBy=username&sortOrder=ASC&start=0&count=1"
call GET "/profile/count.json?accessTokenId=$APP_TOKEN&tenantName=$TENANT"
expect 400 GET "/profile/by_query.json" -G --data-urlencode "accessTokenId=$APP_TOKEN" --data-urlencode "tenantName=$TENANT" \
	--data-urlencode "query={\$where: 'sleep(1000)'}"

step "6. Updates (merge semantics)"
call POST "/profile/$BOB/update.json" --data-urlencode "accessTokenId=$APP_TOKEN" \
	--data-urlencode 'attributes={"firstName":"Robert"}' --data-urlencode "attributeToReturn=firstName"
call POST "/profile/$BOB/roles/remove.json" --data-urlencode "accessTokenId=$APP_TOKEN" --data-urlencode "role=ADMIN"
call POST "/profile/$BOB/attributes/update.json?accessTokenId=$APP_TOKEN" -H 'Content-Type: application/json' \
	--data-binary '{"department":"Marketing"}'

step "7. Authentication: a ticket, read with sliding expiry, then invalidated"
call POST "/authentication/authenticate.json" --data-urlencode "accessTokenId=$APP_TOKEN" --data-urlencode "tenantName=$TENANT" \
	--data-urlencode "username=alice" --data-urlencode "password=correct horse battery"
TICKET=$(json .id)
call GET "/profile/by_ticket.json" -G --data-urlencode "accessTokenId=$APP_TOKEN" --data-urlencode "ticketId=$TICKET"
call GET "/authentication/ticket/$TICKET.json?accessTokenId=$APP_TOKEN"
call POST "/authentication/ticket/$TICKET/invalidate.json" --data-urlencode "accessTokenId=$APP_TOKEN"
expect 401 POST "/authentication/authenticate.json" --data-urlencode "accessTokenId=$APP_TOKEN" --data-urlencode "tenantName=$TENANT" \
	--data-urlencode "username=alice" --data-urlencode "password=wrong"

step "8. Persistent login (remember me): the token rotates on refresh"
call POST "/authentication/persistent_login/create.json" --data-urlencode "accessTokenId=$APP_TOKEN" --data-urlencode "profileId=$ALICE"
LOGIN=$(json .id)
call POST "/authentication/persistent_login/$LOGIN/refresh_token.json" --data-urlencode "accessTokenId=$APP_TOKEN"
call POST "/authentication/persistent_login/$LOGIN/delete.json" --data-urlencode "accessTokenId=$APP_TOKEN"

step "9. Password reset: a single-use 24-hour token sent by email"
call POST "/profile/$ALICE/reset_password.json" --data-urlencode "accessTokenId=$APP_TOKEN" \
	--data-urlencode "resetPasswordUrl=https://app.example.com/reset"
RESET=""
if [ -n "${MAIL_DIR:-}" ] && [ -d "$MAIL_DIR" ]; then
	# Mail goes out in the background: wait (up to 5 s) for the message
	# to this run's Alice that carries her reset link.
	for _ in $(seq 50); do
		EML=$(grep -l "^To: <alice-$RUN@example.com>" "$MAIL_DIR"/*.eml 2>/dev/null |
			xargs -r grep -l -i 'Reset Password' 2>/dev/null | head -1 || true)
		[ -n "$EML" ] && break
		sleep 0.1
	done
	if [ -n "$EML" ]; then
		echo "mail: $EML"
		# The body is quoted-printable: join soft line breaks, decode =3D.
		RESET=$(sed -e ':a' -e '/=\r\?$/{N;s/=\r\?\n//;ba}' "$EML" | sed 's/=3D/=/g' |
			grep -o 'tokenId=[A-Za-z0-9_-]*' | head -1 | cut -d= -f2)
	fi
fi
if [ -z "$RESET" ]; then
	echo "(no MAIL_DIR: creating a token through the API instead, as apps that send their own mail do)"
	call POST "/profile/$ALICE/verification_token/create.json" --data-urlencode "accessTokenId=$APP_TOKEN"
	RESET=$(json .id)
fi
call POST "/profile/change_password.json" --data-urlencode "accessTokenId=$APP_TOKEN" \
	--data-urlencode "resetTokenId=$RESET" --data-urlencode "newPassword=a brand new passphrase"
expect 404 POST "/profile/change_password.json" --data-urlencode "accessTokenId=$APP_TOKEN" \
	--data-urlencode "resetTokenId=$RESET" --data-urlencode "newPassword=once more"

step "10. Attachments: images only, checked by extension and content"
PNG=$(mktemp --suffix=.png)
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82' >"$PNG"
call POST "/profile/$ALICE/uploadAttachment.json?accessTokenId=$APP_TOKEN" -F "attachment=@$PNG" -F "filename=avatar.png"
call GET "/profile/$ALICE/attachments/.json?accessTokenId=$APP_TOKEN"
call GET "/profile/$ALICE/attachment/avatar/details.json?accessTokenId=$APP_TOKEN"
curl -sS -D - -o /dev/null "$BASE/profile/$ALICE/attachment/avatar?accessTokenId=$APP_TOKEN" | grep -i '^content-\|^x-content'
echo '<html><script>alert(1)</script>' >"$PNG"
expect 400 POST "/profile/$ALICE/uploadAttachment.json?accessTokenId=$APP_TOKEN" -F "attachment=@$PNG" -F "filename=evil.png"

if [ -n "${MONITORING_TOKEN:-}" ]; then
	step "11. Monitoring (management token, no access token)"
	call GET "/monitoring/status.json?token=$MONITORING_TOKEN"
	call GET "/monitoring/memory.json?token=$MONITORING_TOKEN"
fi

step "12. Cleanup"
call POST "/profile/$BOB/delete.json" --data-urlencode "accessTokenId=$APP_TOKEN"
call POST "/tenant/$TENANT/delete.json" --data-urlencode "accessTokenId=$TOKEN"
expect 404 GET "/tenant/$TENANT.json?accessTokenId=$TOKEN"
call POST "/access_token/$APP_TOKEN/delete.json" --data-urlencode "accessTokenId=$TOKEN"
expect 403 GET "/tenant/count.json?accessTokenId=$APP_TOKEN"
echo
echo "Tutorial complete."
