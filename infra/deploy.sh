#!/usr/bin/env bash
# Deploys plsgate into one resource group, end to end (infra/README.md, "Deploy"):
#   ./infra/deploy.sh -g RG -l LOCATION --scope-subscription SUB --policy my-policy.yaml
#
# Options:
#   -g RG                      resource group (an existing one is reused, whatever its region)
#   -l LOCATION                region of the Function App (must offer Flex Consumption)
#   --scope-subscription SUB   subscription whose private link services plsgate manages (repeatable)
#   --scope-pls ID             one private link service plsgate manages (repeatable)
#   --webpubsub-id ID          Web PubSub resource whose shared private links verify requests (repeatable)
#   --policy FILE              your policy (start from examples/policies/); shipped as policy.yaml
#   --auth-mode MODE           entra (default) | easyauth | key: how approve/reject callers are checked
#   --api-app-id APPID         existing API app registration (default: create or reuse plsgate-NAME)
#   --approvers LIST           APPROVERS (default role:Approver); --approvers-force LIST: APPROVERS_FORCE
#   --name NAME                name used in every resource name (default plsgate)
#   --what-if                  validate, then run az deployment group what-if and stop
#   NAME=VALUE ...             any other main.bicep parameter (e.g. dryRun=false)
# Needs: Azure CLI >= 2.60 (az login), make, Go. Rights: Owner (or User Access Administrator +
# Contributor) on the resource group and every scope; Application Administrator (or app owner)
# to create the app registration.
set -Eeuo pipefail

usage() {
	sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
die() { # message (usage errors: exit 2)
	printf 'deploy.sh: %s\n' "$*" >&2
	exit 2
}

rg="" location="" policy="" what_if=false auth_mode=entra api_app_id="" approvers="" approvers_force=""
name=plsgate
scope_subs=() scope_pls=() webpubsub_ids=() params=()
while (($#)); do
	case "$1" in
	-g | --resource-group) rg="${2:?-g needs a value}"; shift 2 ;;
	-l | --location) location="${2:?-l needs a value}"; shift 2 ;;
	--scope-subscription) scope_subs+=("${2:?--scope-subscription needs a value}"); shift 2 ;;
	--scope-pls) scope_pls+=("${2:?--scope-pls needs a value}"); shift 2 ;;
	--webpubsub-id) webpubsub_ids+=("${2:?--webpubsub-id needs a value}"); shift 2 ;;
	--policy) policy="${2:?--policy needs a value}"; shift 2 ;;
	--auth-mode) auth_mode="${2:?--auth-mode needs a value}"; shift 2 ;;
	--api-app-id) api_app_id="${2:?--api-app-id needs a value}"; shift 2 ;;
	--approvers) approvers="${2?--approvers needs a value}"; shift 2 ;;
	--approvers-force) approvers_force="${2?--approvers-force needs a value}"; shift 2 ;;
	--name) name="${2:?--name needs a value}"; shift 2 ;;
	--what-if) what_if=true; shift ;;
	-h | --help) usage ;;
	*=*) params+=("$1"); shift ;;
	*) printf 'deploy.sh: unknown argument %q\n\n' "$1" >&2; usage ;;
	esac
done

# Refusals, before anything touches Azure: a deployment that succeeds must also work.
[[ -n "$rg" && -n "$location" ]] || die "-g RESOURCE_GROUP and -l LOCATION are required (see --help)"
if ((${#scope_subs[@]} == 0 && ${#scope_pls[@]} == 0)); then
	die "no scope: give --scope-subscription SUB (repeatable) or --scope-pls ID. Without one plsgate would scan nothing and get 403s."
fi
if [[ -z "$policy" ]]; then
	die "no policy: give --policy FILE with your own policy (start from one of examples/policies/); the examples are not shipped as production policies."
fi
[[ -f "$policy" ]] || die "--policy $policy: no such file"
case "$auth_mode" in key | entra | easyauth) ;; *) die "--auth-mode $auth_mode: want entra, easyauth or key" ;; esac
for s in "${scope_subs[@]+"${scope_subs[@]}"}"; do
	[[ "$s" =~ ^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$ ]] || die "--scope-subscription $s is not a subscription ID (GUID)"
done

policy="$(cd "$(dirname "$policy")" && pwd)/$(basename "$policy")"
cd "$(dirname "$0")/.."
deployment="plsgate-infra"
sleep_cmd="${PLSGATE_DEPLOY_SLEEP:-sleep}" # tests make waiting instant

# Each step names itself and what to run next when it fails.
step_name="" step_next=""
step() { # name next-hint
	step_name="$1" step_next="$2"
	printf '\n==> %s\n' "$1"
}
on_error() {
	local rc=$?
	printf '\ndeploy.sh: step failed: %s (exit %s)\nNext: %s\n' "$step_name" "$rc" "$step_next" >&2
	exit "$rc"
}
trap on_error ERR

# retry ATTEMPTS FIRST_DELAY WHAT CMD...: exponential backoff for steps that race the platform.
retry() {
	local attempts="$1" delay="$2" what="$3" i
	shift 3
	for ((i = 1; ; i++)); do
		if "$@"; then return 0; fi
		if ((i >= attempts)); then
			printf '%s: still failing after %d attempts\n' "$what" "$attempts" >&2
			return 1
		fi
		printf '%s: attempt %d failed; retrying in %ds\n' "$what" "$i" "$delay" >&2
		"$sleep_cmd" "$delay"
		delay=$((delay * 2))
	done
}

plsgate() { # the host-native plsgate (PLSGATE_BIN, or go run)
	if [[ -n "${PLSGATE_BIN:-}" ]]; then "$PLSGATE_BIN" "$@"; else go run . "$@"; fi
}

json_array() { # values... -> ["a","b"]
	local out="[" sep="" v
	for v in "$@"; do out+="$sep\"$v\""; sep=","; done
	printf '%s]' "$out"
}
join_comma() { local IFS=,; printf '%s' "$*"; }

step "Checking the policy ($policy)" "fix the policy, then: go run . policy check $policy"
plsgate policy check "$policy"

step "Azure account" "az login (and az account set --subscription SUB)"
tenant_id="$(az account show --query tenantId --output tsv)"
graph="$(az cloud show --query endpoints.microsoftGraphResourceId --output tsv)"
graph="${graph%/}"

# The API app registration (AUTH_MODE entra/easyauth): a delegated scope user_impersonation, an
# Approver app role, the Azure CLI pre-authorized (so `az account get-access-token --resource
# api://…` works without a consent prompt). Azure CLI's client ID: 04b07795-8ddb-461a-bbee-02f9e1bf7b46.
audience=""
if [[ "$auth_mode" != key ]]; then
	step "API app registration" "create it by hand (infra/README.md, \"Who may approve\") and rerun with --api-app-id APPID"
	if [[ -z "$api_app_id" ]]; then
		api_app_id="$(az ad app list --display-name "plsgate-$name" --query '[0].appId' --output tsv)"
		if [[ -z "$api_app_id" ]]; then
			api_app_id="$(az ad app create --display-name "plsgate-$name" --sign-in-audience AzureADMyOrg --query appId --output tsv)"
			echo "created app registration plsgate-$name ($api_app_id)"
		fi
	fi
	object_id="$(az ad app show --id "$api_app_id" --query id --output tsv)"
	scope_id="$(az ad app show --id "$api_app_id" --query "api.oauth2PermissionScopes[?value=='user_impersonation'].id | [0]" --output tsv)"
	[[ -n "$scope_id" ]] || scope_id="$(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen)"
	role_id="$(az ad app show --id "$api_app_id" --query "appRoles[?value=='Approver'].id | [0]" --output tsv)"
	[[ -n "$role_id" ]] || role_id="$(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen)"
	audience="api://$api_app_id"
	az ad app update --id "$api_app_id" --identifier-uris "$audience"
	body=$(
		cat <<EOF
{"api":{"requestedAccessTokenVersion":2,
 "oauth2PermissionScopes":[{"id":"$scope_id","value":"user_impersonation","type":"User","isEnabled":true,
  "adminConsentDisplayName":"Use plsgate's API","adminConsentDescription":"Call plsgate's API as the signed-in user",
  "userConsentDisplayName":"Use plsgate's API","userConsentDescription":"Call plsgate's API as you"}],
 "preAuthorizedApplications":[{"appId":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","delegatedPermissionIds":["$scope_id"]}]},
 "appRoles":[{"id":"$role_id","value":"Approver","displayName":"plsgate approver","isEnabled":true,
  "allowedMemberTypes":["User","Application"],"description":"May approve and reject private endpoint connections through plsgate's API"}]}
EOF
	)
	body="${body//$'\n'/}"
	retry 4 10 "app registration update" az rest --method PATCH --uri "$graph/v1.0/applications/$object_id" \
		--headers Content-Type=application/json --body "$body"
	az ad sp show --id "$api_app_id" --output none 2>/dev/null || az ad sp create --id "$api_app_id" --output none
	[[ -n "$approvers" ]] || approvers="role:Approver"
fi

# The settings deployed, as main.bicep parameters and as the app settings serve --check reads.
bicep_params=(
	"name=$name" "location=$location"
	"scopeSubscriptionIds=$(json_array "${scope_subs[@]+"${scope_subs[@]}"}")"
	"scopePlsIds=$(json_array "${scope_pls[@]+"${scope_pls[@]}"}")"
	"webPubSubIds=$(json_array "${webpubsub_ids[@]+"${webpubsub_ids[@]}"}")"
	"authMode=$auth_mode" "authTenantId=$tenant_id" "authAudience=$audience" "apiAppId=$api_app_id"
	"approvers=$approvers" "approversForce=$approvers_force"
)

step "Start-up validation of the settings to deploy (plsgate serve --check)" \
	"fix the setting named above (a main.bicep parameter), then rerun"
check_env=(
	PLSGATE_TABLES_ENDPOINT="https://check.table.core.windows.net"
	PLSGATE_POLICY="$policy"
	SCOPE_SUBSCRIPTIONS="$(join_comma "${scope_subs[@]+"${scope_subs[@]}"}")"
	SCOPE_PLS_IDS="$(join_comma "${scope_pls[@]+"${scope_pls[@]}"}")"
	WEBPUBSUB_IDS="$(join_comma "${webpubsub_ids[@]+"${webpubsub_ids[@]}"}")"
	AUTH_MODE="$auth_mode" AUTH_TENANT_ID="$tenant_id" AUTH_AUDIENCE="$audience${api_app_id:+,$api_app_id}"
	APPROVERS="$approvers" APPROVERS_FORCE="$approvers_force" DRY_RUN=true
)
for p in "${params[@]+"${params[@]}"}"; do # NAME=VALUE parameters that map to a setting
	case "${p%%=*}" in
	dryRun) check_env+=(DRY_RUN="${p#*=}") ;;
	driftMode) check_env+=(DRIFT_MODE="${p#*=}") ;;
	reconcileSchedule) check_env+=(RECONCILE_SCHEDULE="${p#*=}") ;;
	reconcileConcurrency) check_env+=(RECONCILE_CONCURRENCY="${p#*=}") ;;
	reconcileTimeBudget) check_env+=(RECONCILE_TIME_BUDGET="${p#*=}") ;;
	failedRetryInterval) check_env+=(FAILED_RETRY_INTERVAL="${p#*=}") ;;
	scopeResourceGraph) check_env+=(SCOPE_RESOURCE_GRAPH="${p#*=}") ;;
	tablePrefix) check_env+=(PLSGATE_TABLE_PREFIX="${p#*=}") ;;
	notifyTopicEndpoint) check_env+=(NOTIFY_TOPIC_ENDPOINT="${p#*=}") ;;
	logLevel) check_env+=(PLSGATE_LOG_LEVEL="${p#*=}") ;;
	esac
done
(
	trap - ERR # the parent reports the step
	# Only the settings about to be deployed: none inherited from this shell.
	while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(PLSGATE_|SCOPE_|AUTH_|APPROVERS|WEBPUBSUB_|RECONCILE_|DRIFT_MODE|DRY_RUN|NOTIFY_|ARM_ENDPOINT|AZURE_CLIENT_ID|AzureWebJobsStorage)' | grep -vxE 'PLSGATE_BIN|PLSGATE_DEPLOY_SLEEP' || true)
	export "${check_env[@]}"
	plsgate serve --check
)

step "Resource group $rg" "az group create --name $rg --location $location"
existing_location="$(az group show --name "$rg" --query location --output tsv 2>/dev/null || true)"
if [[ -n "$existing_location" ]]; then
	if [[ "${existing_location,,}" != "${location,,}" ]]; then
		echo "reusing resource group $rg (in $existing_location); plsgate's resources go to $location"
	fi
elif $what_if; then
	echo "resource group $rg does not exist: a deployment would create it in $location. what-if needs it; stopping here."
	exit 0
else
	az group create --name "$rg" --location "$location" --output none
fi

# Azure allows one Microsoft.Resources.Subscriptions system topic per subscription: reuse any
# that is not ours (ours are named evgt-NAME-…).
step "Existing Event Grid system topics" "az eventgrid system-topic list --subscription SUB --output table"
watched=("${scope_subs[@]+"${scope_subs[@]}"}")
for id in "${scope_pls[@]+"${scope_pls[@]}"}" "${webpubsub_ids[@]+"${webpubsub_ids[@]}"}"; do
	watched+=("$(cut -d/ -f3 <<<"$id")")
done
existing_topics="{" sep=""
declare -A seen=()
for sub in "${watched[@]}"; do
	sub="${sub,,}"
	[[ -z "${seen[$sub]:-}" ]] || continue
	seen[$sub]=1
	tname="" trg=""
	read -r tname trg < <(az eventgrid system-topic list --subscription "$sub" \
		--query "[?topicType=='Microsoft.Resources.Subscriptions'] | [0].[name, resourceGroup]" --output tsv || true) || true
	if [[ -n "${tname:-}" && "$tname" != "evgt-$name-"* ]]; then
		echo "subscription $sub: reusing system topic $tname (resource group $trg)"
		existing_topics+="$sep\"$sub\":{\"name\":\"$tname\",\"resourceGroup\":\"$trg\"}"
		sep=","
	fi
done
existing_topics+="}"
bicep_params+=("existingSystemTopics=$existing_topics")

deploy_args() { # extra NAME=VALUE...
	printf '%s\n' --resource-group "$rg" --name "$deployment" --template-file infra/main.bicep \
		--parameters infra/main.parameters.json --parameters "${bicep_params[@]}" "${params[@]+"${params[@]}"}" "$@"
}

if $what_if; then
	step "What-if (nothing is changed)" "az deployment group what-if ... (the command above), or rerun without --what-if"
	mapfile -t args < <(deploy_args)
	az deployment group what-if "${args[@]}"
	exit 0
fi

step "Building the package (make package POLICY=$policy)" "make package POLICY=$policy"
make package POLICY="$policy"

# A role assignment right after its new role definition, or after a new identity, may fail
# while they replicate: deploying again fixes it.
step "Infrastructure (Function App, storage, identity, role, system topics)" \
	"az deployment operation group list -g $rg -n $deployment --query \"[?properties.provisioningState=='Failed']\"; then rerun deploy.sh"
mapfile -t args < <(deploy_args deployEventSubscription=false)
retry 3 30 "infrastructure deployment" az deployment group create "${args[@]}" --output none
output() { az deployment group show --resource-group "$rg" --name "$deployment" --query "properties.outputs.$1.value" --output tsv; }
app="$(output functionAppName)"
host="$(output functionAppHostName)"
echo "Function App: $app ($host)"

# New role assignments can take minutes to reach storage: the first upload may be refused.
step "Publishing dist/plsgate.zip to $app" \
	"az functionapp deployment source config-zip -g $rg -n $app --src dist/plsgate.zip"
retry 6 15 "publish" az functionapp deployment source config-zip --resource-group "$rg" --name "$app" \
	--src dist/plsgate.zip --output none

# Event Grid looks the function up when the subscription is created: wait until the host has
# synced its function metadata.
step "Waiting for the ResourceEvents function" \
	"az functionapp function show -g $rg -n $app --function-name ResourceEvents; then rerun deploy.sh"
retry 8 10 "function metadata sync" az functionapp function show --resource-group "$rg" --name "$app" \
	--function-name ResourceEvents --output none

step "Event Grid subscriptions to ResourceEvents (every watched subscription)" \
	"rerun deploy.sh (it is idempotent), or check az eventgrid system-topic event-subscription list"
mapfile -t args < <(deploy_args deployEventSubscription=true)
retry 4 30 "event subscription deployment" az deployment group create "${args[@]}" --output none

# The function key exists once the app has restarted with the package.
step "Post-deploy check: GET /api/v1/status" \
	"az functionapp function keys list -g $rg -n $app --function-name Api; curl -H \"x-functions-key: KEY\" https://$host/api/v1/status"
api_key() {
	key="$(az functionapp function keys list --resource-group "$rg" --name "$app" --function-name Api --query default --output tsv)"
	[[ -n "$key" ]]
}
retry 8 10 "function key" api_key
status_ok() {
	local code
	code="$(curl --silent --output /dev/null --write-out '%{http_code}' --header "x-functions-key: $key" "https://$host/api/v1/status" || true)"
	[[ "$code" == 200 ]] || { echo "status answered $code" >&2; return 1; }
}
retry 10 10 "status page" status_ok

trap - ERR
cat <<EOF

plsgate answers: https://$host/api/v1/status (send the function key as x-functions-key or ?code=)
DRY_RUN is $(output dryRun): read the status page and the history, then rerun with dryRun=false.
EOF
if [[ "$auth_mode" != key ]]; then
	cat <<EOF
Approvers: APPROVERS=$approvers. To let someone approve, assign the app role Approver
(app $api_app_id, role id $role_id) to a user or group:
  sp=\$(az ad sp show --id $api_app_id --query id -o tsv)
  az rest --method POST --uri $graph/v1.0/servicePrincipals/\$sp/appRoleAssignedTo \\
    --body '{"principalId":"<user or group object id>","resourceId":"'\$sp'","appRoleId":"$role_id"}'
Then the approver calls:
  token=\$(az account get-access-token --resource $audience --query accessToken -o tsv)
  curl -X POST "https://$host/api/v1/connections/approve" -H "x-functions-key: \$key" \\
    -H "Authorization: Bearer \$token" -H 'Content-Type: application/json' \\
    -d '{"connectionId":"<connection resource ID>","reason":"ticket 123"}'
EOF
fi
