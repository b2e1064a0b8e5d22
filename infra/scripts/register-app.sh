#!/usr/bin/env bash
# Register (or update) Slotbridge's Microsoft Entra application and store its client secret in
# Key Vault.
#
# - Accounts: work/school in any tenant and personal Microsoft accounts
#   (signInAudience AzureADandPersonalMicrosoftAccount, v2 access tokens).
# - Web redirect URI: https://<app>/api/auth/callback (the azd output SLOTBRIDGE_REDIRECT_URI).
#   Microsoft answers it with response_mode=form_post (a POST), which a web redirect URI accepts
#   as it is: nothing to configure for that.
# - Delegated Microsoft Graph permissions: Calendars.ReadWrite, User.Read, MailboxSettings.Read (the
#   mailbox time zone, for all-day events), offline_access (plus openid and profile, which MSAL
#   always requests), by their well-known permission ids. All of them are user-consentable.
# - Client secret: created by Entra, piped straight into a private temporary file and from there into
#   Key Vault. It is never printed, never passed on a command line, never kept in a variable.
#
# Idempotent: run again to update redirect URIs and permissions; --rotate-secret adds a new secret.
# `azd up` runs it from its postprovision hook (infra/scripts/postprovision.sh).
set -euo pipefail
# shellcheck source=infra/scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly GRAPH_APP_ID="00000003-0000-0000-c000-000000000000"
# Delegated Microsoft Graph permission (oauth2PermissionScope) ids; the same in every tenant.
readonly SCOPE_CALENDARS_READWRITE="1ec239c2-d7c9-4623-a91a-a9775856bb36"
readonly SCOPE_USER_READ="e1fe6dd8-ba31-4d61-89e7-88639da4683d"
readonly SCOPE_MAILBOXSETTINGS_READ="87f447af-9fa4-4c32-9dfa-4a57a73d18ce"
readonly SCOPE_OFFLINE_ACCESS="7427e0e9-2fba-42fe-b0c0-848c9e6a8182"
readonly SCOPE_OPENID="37f7f235-527c-4136-accd-4a02d197296e"
readonly SCOPE_PROFILE="14dad69e-099b-42c9-810b-d002981feec1"
readonly DEFAULT_SECRET_NAME="graph-client-secret"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [options]

Create or update the Entra app registration of Slotbridge and put its client secret in Key Vault.
Defaults come from the environment or, when azd is installed, from the current azd environment
(run 'azd up' first).

Options:
  --name NAME            display name (default: "Slotbridge (\$AZURE_ENV_NAME)")
  --client-id ID         update this existing registration (default: \$SLOTBRIDGE_CLIENT_ID; otherwise
                         the registration is looked up by display name, or created)
  --redirect-uri URI     web redirect URI; repeat for several (default: \$SLOTBRIDGE_REDIRECT_URI)
  --vault NAME           Key Vault name (default: \$AZURE_KEY_VAULT_NAME)
  --secret-name NAME     Key Vault secret for the client secret
                         (default: \$SLOTBRIDGE_CLIENT_SECRET_NAME, or ${DEFAULT_SECRET_NAME})
  --secret-months N      lifetime of a new client secret in months, 1-24 (default: 12)
  --rotate-secret        add a new client secret even if Key Vault already holds one
  --function-app NAME    function app to point at the registration (default: \$AZURE_FUNCTION_APP_NAME)
  --resource-group NAME  its resource group (default: \$AZURE_RESOURCE_GROUP)
  -h, --help             show this help

Needs: az, logged in to the tenant that should own the registration (Application Developer or
higher there), Key Vault Secrets Officer on the vault (azd up grants it to the deploying user).
USAGE
}



# YYYY-MM-DD, N months from today (GNU date, else BSD date).
date_in_months() {
  date -u -d "+$1 months" +%Y-%m-%d 2>/dev/null || date -u -v+"$1"m +%Y-%m-%d
}

name=""
client_id=""
redirect_uris=()
vault=""
secret_name=""
secret_months=12
rotate_secret=false
function_app=""
resource_group=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --name) [[ $# -ge 2 ]] || die "--name needs a value"; name="$2"; shift 2 ;;
    --client-id) [[ $# -ge 2 ]] || die "--client-id needs a value"; client_id="$2"; shift 2 ;;
    --redirect-uri) [[ $# -ge 2 ]] || die "--redirect-uri needs a value"; redirect_uris+=("$2"); shift 2 ;;
    --vault) [[ $# -ge 2 ]] || die "--vault needs a value"; vault="$2"; shift 2 ;;
    --secret-name) [[ $# -ge 2 ]] || die "--secret-name needs a value"; secret_name="$2"; shift 2 ;;
    --secret-months) [[ $# -ge 2 ]] || die "--secret-months needs a value"; secret_months="$2"; shift 2 ;;
    --rotate-secret) rotate_secret=true; shift ;;
    --function-app) [[ $# -ge 2 ]] || die "--function-app needs a value"; function_app="$2"; shift 2 ;;
    --resource-group) [[ $# -ge 2 ]] || die "--resource-group needs a value"; resource_group="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is not installed"
az account show --output none 2>/dev/null || die "not logged in: run 'az login' first"

if [[ -z "${name}" ]]; then
  env_name="$(env_or_azd AZURE_ENV_NAME)"
  name="Slotbridge${env_name:+ (${env_name})}"
fi
[[ -n "${client_id}" ]] || client_id="$(env_or_azd SLOTBRIDGE_CLIENT_ID)"
if [[ ${#redirect_uris[@]} -eq 0 ]]; then
  default_redirect="$(env_or_azd SLOTBRIDGE_REDIRECT_URI)"
  [[ -n "${default_redirect}" ]] || die "no redirect URI: pass --redirect-uri or run 'azd up' first"
  redirect_uris=("${default_redirect}")
fi
[[ -n "${vault}" ]] || vault="$(env_or_azd AZURE_KEY_VAULT_NAME)"
[[ -n "${vault}" ]] || die "no Key Vault: pass --vault or set AZURE_KEY_VAULT_NAME"
[[ -n "${secret_name}" ]] || secret_name="$(env_or_azd SLOTBRIDGE_CLIENT_SECRET_NAME)"
[[ -n "${secret_name}" ]] || secret_name="${DEFAULT_SECRET_NAME}"
[[ -n "${function_app}" ]] || function_app="$(env_or_azd AZURE_FUNCTION_APP_NAME)"
[[ -n "${resource_group}" ]] || resource_group="$(env_or_azd AZURE_RESOURCE_GROUP)"

if ! [[ "${secret_months}" =~ ^[0-9]+$ ]] || ((secret_months < 1 || secret_months > 24)); then
  die "--secret-months must be 1-24"
fi

# Redirect URIs go into a JSON body verbatim, so accept only plain https URLs (Entra requires https
# for web redirect URIs other than localhost anyway).
uri_re='^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$'
redirect_json=""
for uri in "${redirect_uris[@]}"; do
  [[ "${uri}" =~ ${uri_re} ]] || die "redirect URI must be a plain https:// URL: ${uri}"
  redirect_json+="${redirect_json:+, }\"${uri}\""
done

umask 077
work_dir="$(mktemp -d)"
trap 'rm -rf "${work_dir}"' EXIT

# --- the registration ---------------------------------------------------------------------------
if [[ -n "${client_id}" ]]; then
  object_id="$(az ad app show --id "${client_id}" --query id --output tsv)" \
    || die "no app registration with client id ${client_id}"
else
  matches="$(az ad app list --display-name "${name}" --query "length([])" --output tsv)"
  if [[ "${matches}" -gt 1 ]]; then
    die "several app registrations are named '${name}'; pass --client-id"
  elif [[ "${matches}" -eq 1 ]]; then
    client_id="$(az ad app list --display-name "${name}" --query "[0].appId" --output tsv)"
    printf 'Updating the existing registration %s (%s).\n' "${name}" "${client_id}"
  else
    client_id="$(az ad app create --display-name "${name}" --query appId --output tsv)"
    printf 'Created the registration %s (%s).\n' "${name}" "${client_id}"
  fi
  object_id="$(az ad app show --id "${client_id}" --query id --output tsv)"
fi

# Audience, token version, redirect URIs and Graph permissions in one PATCH: personal accounts
# require v2 access tokens, and Graph rejects the audience change without it.
cat >"${work_dir}/app.json" <<JSON
{
  "signInAudience": "AzureADandPersonalMicrosoftAccount",
  "api": { "requestedAccessTokenVersion": 2 },
  "web": {
    "redirectUris": [${redirect_json}],
    "implicitGrantSettings": { "enableAccessTokenIssuance": false, "enableIdTokenIssuance": false }
  },
  "requiredResourceAccess": [
    {
      "resourceAppId": "${GRAPH_APP_ID}",
      "resourceAccess": [
        { "id": "${SCOPE_CALENDARS_READWRITE}", "type": "Scope" },
        { "id": "${SCOPE_USER_READ}", "type": "Scope" },
        { "id": "${SCOPE_MAILBOXSETTINGS_READ}", "type": "Scope" },
        { "id": "${SCOPE_OFFLINE_ACCESS}", "type": "Scope" },
        { "id": "${SCOPE_OPENID}", "type": "Scope" },
        { "id": "${SCOPE_PROFILE}", "type": "Scope" }
      ]
    }
  ]
}
JSON
graph_endpoint="$(az cloud show --query endpoints.microsoftGraphResourceId --output tsv)"
az rest --method PATCH \
  --uri "${graph_endpoint%/}/v1.0/applications/${object_id}" \
  --headers "Content-Type=application/json" \
  --body "@${work_dir}/app.json" \
  --output none

# A service principal in the home tenant, so the app can be consented to and managed there.
az ad sp show --id "${client_id}" --output none 2>/dev/null \
  || az ad sp create --id "${client_id}" --output none

# --- the client secret --------------------------------------------------------------------------
add_secret="${rotate_secret}"
if [[ "${add_secret}" != true ]] \
  && ! az keyvault secret show --vault-name "${vault}" --name "${secret_name}" --query id --output none 2>/dev/null; then
  add_secret=true
fi

secret_version=""
if [[ "${add_secret}" == true ]]; then
  end_date="$(date_in_months "${secret_months}")"
  today="$(date -u +%Y-%m-%d)"
  # --append keeps the current secret valid, so the running app works until it picks up the new one.
  az ad app credential reset \
    --id "${client_id}" \
    --append \
    --display-name "slotbridge ${today}" \
    --end-date "${end_date}" \
    --query password --output tsv | tr -d '\n' >"${work_dir}/secret"
  [[ -s "${work_dir}/secret" ]] || die "Entra returned no client secret"
  secret_id="$(
    az keyvault secret set \
      --vault-name "${vault}" \
      --name "${secret_name}" \
      --file "${work_dir}/secret" \
      --encoding utf-8 \
      --expires "${end_date}T00:00:00Z" \
      --description "Entra client secret of ${client_id}" \
      --tags "client-id=${client_id}" \
      --query id --output tsv
  )"
  rm -f "${work_dir}/secret"
  secret_version="${secret_id##*/}"
  printf 'Stored a new client secret (valid until %s) as %s, version %s.\n' \
    "${end_date}" "${secret_name}" "${secret_version}"
else
  printf 'Key Vault already holds %s; pass --rotate-secret to replace it.\n' "${secret_name}"
fi

# --- point the function app at the registration -------------------------------------------------
# Only a change is written: every app-settings write restarts the app, and the azd hook runs this
# after every provision.
if [[ -n "${function_app}" && -n "${resource_group}" ]]; then
  settings=()
  current_client_id="$(
    az functionapp config appsettings list \
      --name "${function_app}" --resource-group "${resource_group}" \
      --query "[?name=='SLOTBRIDGE_CLIENT_ID'].value | [0]" --output tsv
  )"
  [[ "${current_client_id}" == "${client_id}" ]] || settings+=("SLOTBRIDGE_CLIENT_ID=${client_id}")
  # Any app-settings change makes App Service fetch Key Vault references again right away (it would
  # otherwise pick up a new secret version within 24 hours).
  if [[ -n "${secret_version}" ]]; then
    now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    settings+=("KEYVAULT_REFERENCES_REFRESHED_AT=${now}")
  fi
  if [[ ${#settings[@]} -gt 0 ]]; then
    az functionapp config appsettings set \
      --name "${function_app}" --resource-group "${resource_group}" \
      --settings "${settings[@]}" --output none
  fi
  printf 'Function app %s uses client id %s.\n' "${function_app}" "${client_id}"
fi
if command -v azd >/dev/null 2>&1 && azd env get-value AZURE_ENV_NAME >/dev/null 2>&1; then
  [[ "$(azd env get-value SLOTBRIDGE_CLIENT_ID 2>/dev/null)" == "${client_id}" ]] \
    || azd env set SLOTBRIDGE_CLIENT_ID "${client_id}"
else
  printf 'Keep it across provisioning: azd env set SLOTBRIDGE_CLIENT_ID %s\n' "${client_id}"
fi

tenant_id="$(az account show --query tenantId --output tsv)"
login_endpoint="$(az cloud show --query endpoints.activeDirectory --output tsv)"
cat <<SUMMARY

Application (client) id: ${client_id}
Home tenant:             ${tenant_id}
Redirect URIs:           ${redirect_uris[*]}
Admin consent (for organisations whose users may not consent themselves; the link goes on to
Microsoft's ${login_endpoint%/}/organizations/v2.0/adminconsent and comes back to a page that says
whether the approval worked):
  ${redirect_uris[0]%/callback}/admin-consent
Client secrets of the registration (remove old ones once the app runs on the new one):
  az ad app credential list --id ${client_id} --query "[].{keyId: keyId, name: displayName, ends: endDateTime}" --output table
  az ad app credential delete --id ${client_id} --key-id <keyId>
SUMMARY
