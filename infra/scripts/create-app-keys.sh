#!/usr/bin/env bash
# Create (or rotate) the keys Slotbridge shares with the product backend and with Microsoft Graph,
# as Key Vault secrets that the function app's settings reference:
#
#   api-keys             SLOTBRIDGE_API_KEYS            comma-separated API keys the product backend
#                                                       sends as X-Api-Key (the first is the newest)
#   user-token-key       SLOTBRIDGE_USER_TOKEN_KEY      HMAC key of the user tokens the backend signs
#   webhook-signing-key  SLOTBRIDGE_WEBHOOK_SIGNING_KEY Standard Webhooks secret of deliveries to the product
#                        (bare base64; the product's verifier takes it as whsec_<value>)
#   client-state-key     SLOTBRIDGE_CLIENT_STATE_KEY    HMAC key of Graph subscriptions' clientState
#
# Until all four exist their Key Vault references stay unresolved and the app refuses to start,
# naming the setting. `azd up` runs it from its postprovision hook; run it again at any time: secrets
# that exist are kept unless named with --rotate.
#
# Values come from openssl's CSPRNG and are piped straight into Key Vault (--file /dev/stdin): they
# are never printed, never put on a command line, never kept in a shell variable. Only a rotation or
# pruning of api-keys, which combines the new key with the current ones, assembles the list in a
# private temporary file first (mode 600, removed on exit), so that a failed read can never store a
# truncated list.
set -euo pipefail
# shellcheck source=infra/scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly -a SECRET_NAMES=(api-keys user-token-key webhook-signing-key client-state-key)

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--rotate NAME]... [--prune-api-keys] [options]

Create the Key Vault secrets ${SECRET_NAMES[*]}
that are missing (HMAC keys: base64 of 32 random bytes; API key: 43 URL-safe characters).
Existing secrets are kept.

Options:
  --rotate NAME          replace NAME with a new random value (a new secret version); repeatable.
                         For api-keys the new key is put in front and the current ones are kept,
                         so the product backend can switch without an outage
  --prune-api-keys       keep only the newest (first) API key, once the product uses it
  --vault NAME           Key Vault name (default: \$AZURE_KEY_VAULT_NAME, or the azd environment value)
  --function-app NAME    function app to refresh after a change (default: \$AZURE_FUNCTION_APP_NAME)
  --resource-group NAME  its resource group (default: \$AZURE_RESOURCE_GROUP)
  -h, --help             show this help

Rotation and how the product backend obtains its keys: docs/operations.md.
Needs: az (logged in, with Key Vault Secrets Officer on the vault; azd up grants it to the
deploying user), openssl.
USAGE
}



is_known_secret() {
  local candidate="$1" known
  for known in "${SECRET_NAMES[@]}"; do
    [[ "${candidate}" == "${known}" ]] && return 0
  done
  return 1
}

secret_exists() {
  az keyvault secret show --vault-name "${vault}" --name "$1" --query id --output none 2>/dev/null
}

# An API key: 32 random bytes as URL-safe base64 without padding (43 characters, never a comma).
new_api_key() {
  openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n'
}

# An HMAC key: 32 random bytes, standard base64 with padding, no trailing newline.
new_hmac_key() {
  openssl rand -base64 32 | tr -d '\n'
}

# The current value of a secret, to stdout (only ever into a pipe or the private work file).
current_value() {
  az keyvault secret show --vault-name "${vault}" --name "$1" --query value --output tsv | tr -d '\r\n'
}

description_of() {
  case "$1" in
    api-keys) printf 'Slotbridge API keys (X-Api-Key), comma-separated, newest first' ;;
    user-token-key) printf 'Slotbridge user-token HMAC key, base64 of 32 random bytes' ;;
    webhook-signing-key) printf 'Slotbridge Standard Webhooks secret, base64 of 32 random bytes (whsec_ + this)' ;;
    client-state-key) printf 'Slotbridge Graph clientState HMAC key, base64 of 32 random bytes' ;;
  esac
}

# Store stdin as a new version of secret $1; prints the version. (Runs in command substitutions,
# where bash clears errexit: hence the explicit return.)
store() {
  local secret_name="$1" secret_id
  secret_id="$(
    az keyvault secret set \
      --vault-name "${vault}" \
      --name "${secret_name}" \
      --file /dev/stdin \
      --encoding utf-8 \
      --description "$(description_of "${secret_name}")" \
      --tags purpose=slotbridge-app-key \
      --query id --output tsv
  )" || return 1
  printf '%s' "${secret_id##*/}"
}

# Store the api-keys list assembled in the work file, if it is a well-formed list.
store_api_keys_file() {
  local list_file="${work_dir}/api-keys"
  grep -Eq '^[^,[:space:]]+(,[^,[:space:]]+)*$' "${list_file}" \
    || die "the current api-keys value could not be read or is not a comma-separated list; nothing stored"
  last_version="$(store api-keys <"${list_file}")"
  rm -f "${list_file}"
}

create_secret() {
  if [[ "$1" == api-keys ]]; then
    last_version="$(new_api_key | store api-keys)"
  else
    last_version="$(new_hmac_key | store "$1")"
  fi
}

rotate_secret() {
  if [[ "$1" == api-keys ]]; then
    # The new key in front, the current ones behind it: the product can switch without an outage.
    new_api_key >"${work_dir}/api-keys"
    printf ',' >>"${work_dir}/api-keys"
    current_value api-keys >>"${work_dir}/api-keys"
    store_api_keys_file
  else
    last_version="$(new_hmac_key | store "$1")"
  fi
}

prune_api_key_list() {
  current_value api-keys | cut -d, -f1 | tr -d '\n' >"${work_dir}/api-keys"
  store_api_keys_file
}

last_version=""
rotate=()
prune_api_keys=false
vault=""
function_app=""
resource_group=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rotate)
      [[ $# -ge 2 ]] || die "--rotate needs a value"
      is_known_secret "$2" || die "--rotate: unknown secret '$2' (one of: ${SECRET_NAMES[*]})"
      rotate+=("$2"); shift 2 ;;
    --prune-api-keys) prune_api_keys=true; shift ;;
    --vault) [[ $# -ge 2 ]] || die "--vault needs a value"; vault="$2"; shift 2 ;;
    --function-app) [[ $# -ge 2 ]] || die "--function-app needs a value"; function_app="$2"; shift 2 ;;
    --resource-group) [[ $# -ge 2 ]] || die "--resource-group needs a value"; resource_group="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is not installed"
command -v openssl >/dev/null 2>&1 || die "openssl is not installed"

[[ -n "${vault}" ]] || vault="$(env_or_azd AZURE_KEY_VAULT_NAME)"
[[ -n "${vault}" ]] || die "no Key Vault: pass --vault or set AZURE_KEY_VAULT_NAME"
[[ -n "${function_app}" ]] || function_app="$(env_or_azd AZURE_FUNCTION_APP_NAME)"
[[ -n "${resource_group}" ]] || resource_group="$(env_or_azd AZURE_RESOURCE_GROUP)"

umask 077
work_dir="$(mktemp -d)"
trap 'rm -rf "${work_dir}"' EXIT

wants_rotation() {
  local candidate="$1" name
  for name in "${rotate[@]+"${rotate[@]}"}"; do
    [[ "${candidate}" == "${name}" ]] && return 0
  done
  return 1
}

changed=false
for secret_name in "${SECRET_NAMES[@]}"; do
  if ! secret_exists "${secret_name}"; then
    create_secret "${secret_name}"
    printf 'Created %s (version %s).\n' "${secret_name}" "${last_version}"
    changed=true
  elif wants_rotation "${secret_name}"; then
    rotate_secret "${secret_name}"
    if [[ "${secret_name}" == api-keys ]]; then
      printf 'Rotated api-keys (version %s): a new key in front, the previous ones still valid.\n' "${last_version}"
    else
      printf 'Rotated %s (version %s).\n' "${secret_name}" "${last_version}"
    fi
    changed=true
  else
    printf 'Kept the existing %s.\n' "${secret_name}"
  fi
done

if [[ "${prune_api_keys}" == true ]]; then
  prune_api_key_list
  printf 'Pruned api-keys to its newest key (version %s); older keys no longer work.\n' "${last_version}"
  changed=true
fi

# Any app-settings change makes App Service resolve Key Vault references again right away (it
# otherwise picks up a new version within 24 hours) and restarts the app.
if [[ "${changed}" == true ]]; then
  if [[ -n "${function_app}" && -n "${resource_group}" ]]; then
    az functionapp config appsettings set \
      --name "${function_app}" --resource-group "${resource_group}" \
      --settings "KEYVAULT_REFERENCES_REFRESHED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)" --output none
    printf 'Function app %s re-reads its Key Vault references now.\n' "${function_app}"
  else
    printf 'Restart the function app (or change any app setting) so it reads the new values now.\n'
  fi
fi

cat <<NEXT

The product backend needs api-keys (its first key), user-token-key and webhook-signing-key;
client-state-key stays with Slotbridge. Give the product's identity Key Vault Secrets User on those
three secrets, or pipe each into the product's own vault without showing it, for example:
  az keyvault secret show --vault-name ${vault} --name user-token-key --query value -o tsv | tr -d '\n' \\
    | az keyvault secret set --vault-name <product-vault> --name <name> --file /dev/stdin -o none
Details and rotation: docs/operations.md ("Keys shared with the product").
NEXT
