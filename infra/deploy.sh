#!/usr/bin/env bash
# Deploys plsgate into one resource group, end to end (infra/README.md, "Deploy"):
#   1. make package                      -> dist/plsgate.zip
#   2. infrastructure (infra/main.bicep) without the Event Grid subscription
#   3. publish the package to the Function App
#   4. infrastructure again with deployEventSubscription=true (the function exists now)
#   5. post-deploy check: GET /api/v1/status with the Api function's key
#
# Usage: infra/deploy.sh -g RESOURCE_GROUP -l LOCATION [NAME=VALUE ...]
#   NAME=VALUE pairs are main.bicep parameters, passed to both deployments, e.g.
#   infra/deploy.sh -g rg-plsgate -l westeurope 'scopeSubscriptionIds=["00000000-0000-0000-0000-000000000001"]'
# Needs: Azure CLI >= 2.60 (logged in: az login), make, Go. Rights: Owner or User Access
# Administrator + Contributor on the resource group and on every scope the role is assigned at.
set -euo pipefail

usage() {
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

rg="" location=""
while getopts "g:l:h" opt; do
	case "$opt" in
	g) rg="$OPTARG" ;;
	l) location="$OPTARG" ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ -n "$rg" && -n "$location" ]] || usage
params=("$@")

cd "$(dirname "$0")/.."
deployment="plsgate-infra"

step() { printf '\n==> %s\n' "$*"; }

deploy_infra() { # extra NAME=VALUE parameters
	az deployment group create --resource-group "$rg" --name "$deployment" \
		--template-file infra/main.bicep --parameters infra/main.parameters.json \
		${params[@]+"${params[@]}"} "$@" --output none
}

output() { # output name
	az deployment group show --resource-group "$rg" --name "$deployment" \
		--query "properties.outputs.$1.value" --output tsv
}

step "Building the package (make package)"
make package

step "Resource group $rg in $location"
az group create --name "$rg" --location "$location" --output none

step "Infrastructure (Function App, storage, identity, role, system topic)"
deploy_infra
app="$(output functionAppName)"
host="$(output functionAppHostName)"
echo "Function App: $app ($host)"

# A new role assignment can take minutes to reach storage: the first upload may be refused.
step "Publishing dist/plsgate.zip to $app"
for attempt in 1 2 3 4 5 6; do
	if az functionapp deployment source config-zip --resource-group "$rg" --name "$app" \
		--src dist/plsgate.zip --output none; then
		break
	fi
	if [[ $attempt == 6 ]]; then
		echo "publishing failed 6 times; see the deployment log of $app" >&2
		exit 1
	fi
	echo "publish attempt $attempt failed; retrying in 30 s (role assignments may still be propagating)"
	sleep 30
done

step "Event Grid subscription to ResourceEvents"
deploy_infra deployEventSubscription=true

step "Post-deploy check: GET /api/v1/status"
key="$(az functionapp function keys list --resource-group "$rg" --name "$app" \
	--function-name Api --query default --output tsv)"
for attempt in $(seq 1 20); do
	code="$(curl --silent --output /dev/null --write-out '%{http_code}' \
		--header "x-functions-key: $key" "https://$host/api/v1/status" || true)"
	if [[ "$code" == 200 ]]; then
		echo "plsgate answers: https://$host/api/v1/status (send the function key as x-functions-key or ?code=)"
		echo "DRY_RUN is $(output dryRun): review the history, then deploy again with dryRun=false."
		exit 0
	fi
	echo "status answered $code (attempt $attempt); waiting for the app to start"
	sleep 15
done
echo "plsgate did not answer 200 on /api/v1/status; check Application Insights and the app's log stream" >&2
exit 1
