#!/usr/bin/env bash
# Rotate the token-cache data key: add a new version of the Key Vault secret.
#
# New token caches are encrypted under the newest version (once the app has refreshed its cached
# key, or after a restart); existing ones carry the version they were encrypted with and are
# re-encrypted under the new one the next time the app saves them. Old versions MUST stay enabled
# until every token cache has been re-encrypted: a disabled or deleted version makes every cache
# still encrypted under it unreadable, and those users have to reconnect.
set -euo pipefail
# shellcheck source=infra/scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly DEFAULT_SECRET_NAME="token-data-key"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--vault NAME] [--name SECRET] [--list] [-h|--help]

Add a new version (32 random bytes, base64) of the token-cache data key SECRET.

Options:
  --vault NAME    Key Vault name (default: \$AZURE_KEY_VAULT_NAME, or the azd environment value)
  --name SECRET   secret name (default: \$SLOTBRIDGE_DATA_KEY_SECRET_NAME, or ${DEFAULT_SECRET_NAME})
  --list          only list the versions (id, enabled, created), do not rotate
  -h, --help      show this help

Keep old versions enabled until no token cache uses them (see docs/operations.md).
Needs: az (logged in, with Key Vault Secrets Officer on the vault), openssl.
USAGE
}



list_versions() {
  az keyvault secret list-versions \
    --vault-name "${vault}" \
    --name "${secret_name}" \
    --query "sort_by([], &attributes.created)[].{version: id, enabled: attributes.enabled, created: attributes.created}" \
    --output table
}

vault=""
secret_name=""
list_only=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --vault) [[ $# -ge 2 ]] || die "--vault needs a value"; vault="$2"; shift 2 ;;
    --name) [[ $# -ge 2 ]] || die "--name needs a value"; secret_name="$2"; shift 2 ;;
    --list) list_only=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is not installed"

[[ -n "${vault}" ]] || vault="$(env_or_azd AZURE_KEY_VAULT_NAME)"
[[ -n "${secret_name}" ]] || secret_name="$(env_or_azd SLOTBRIDGE_DATA_KEY_SECRET_NAME)"
[[ -n "${secret_name}" ]] || secret_name="${DEFAULT_SECRET_NAME}"
[[ -n "${vault}" ]] || die "no Key Vault: pass --vault or set AZURE_KEY_VAULT_NAME"

if ! az keyvault secret show --vault-name "${vault}" --name "${secret_name}" --query id --output none 2>/dev/null; then
  die "secret ${secret_name} does not exist in ${vault}; create it with create-data-key.sh"
fi

if [[ "${list_only}" == true ]]; then
  list_versions
  exit 0
fi

command -v openssl >/dev/null 2>&1 || die "openssl is not installed"

umask 077
key_file="$(mktemp)"
trap 'rm -f "${key_file}"' EXIT
openssl rand -base64 32 | tr -d '\n' >"${key_file}"

version_id="$(
  az keyvault secret set \
    --vault-name "${vault}" \
    --name "${secret_name}" \
    --file "${key_file}" \
    --encoding utf-8 \
    --description "token-cache data key, base64 of 32 random bytes" \
    --tags purpose=token-cache-data-key \
    --query id --output tsv
)"

printf 'Added version %s of %s in %s.\n\n' "${version_id##*/}" "${secret_name}" "${vault}"
list_versions
cat <<'NEXT'

Next:
  - The app encrypts with the new version once it reloads the key (restart it to make that
    immediate: az functionapp restart -g <group> -n <app>).
  - Keep every older version ENABLED until no token cache is encrypted under it any more
    (docs/operations.md: "Rotate the data key"). Disabling one early forces its users to reconnect.
NEXT
