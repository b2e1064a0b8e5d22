#!/usr/bin/env bash
# Create the token-cache data key: 256 random bits, base64, stored as a Key Vault secret.
#
# Slotbridge encrypts every MSAL token cache with AES-256-GCM under this key and stores the key
# version beside each ciphertext. `azd up` runs it (with --if-missing) from its postprovision hook;
# by hand, run it once per environment. To rotate the key later, use rotate-data-key.sh (a new
# version of the same secret).
#
# The key never appears on a command line, in the output or in a shell variable: it goes from the
# random source to a private temporary file to Key Vault, and the file is removed on exit.
set -euo pipefail
# shellcheck source=infra/scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly DEFAULT_SECRET_NAME="token-data-key"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--vault NAME] [--name SECRET] [--if-missing] [-h|--help]

Create the token-cache data key (32 random bytes, base64) as Key Vault secret SECRET.
Refuses to overwrite an existing key; use rotate-data-key.sh to add a new version.

Options:
  --vault NAME    Key Vault name (default: \$AZURE_KEY_VAULT_NAME, or the azd environment value)
  --name SECRET   secret name (default: \$SLOTBRIDGE_DATA_KEY_SECRET_NAME, or ${DEFAULT_SECRET_NAME})
  --if-missing    keep an existing key and succeed (the azd hook) instead of refusing
  -h, --help      show this help

Needs: az (logged in, with Key Vault Secrets Officer on the vault; azd up grants it to the
deploying user), openssl.
USAGE
}



vault=""
secret_name=""
if_missing=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --vault) [[ $# -ge 2 ]] || die "--vault needs a value"; vault="$2"; shift 2 ;;
    --name) [[ $# -ge 2 ]] || die "--name needs a value"; secret_name="$2"; shift 2 ;;
    --if-missing) if_missing=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is not installed"
command -v openssl >/dev/null 2>&1 || die "openssl is not installed"

[[ -n "${vault}" ]] || vault="$(env_or_azd AZURE_KEY_VAULT_NAME)"
[[ -n "${secret_name}" ]] || secret_name="$(env_or_azd SLOTBRIDGE_DATA_KEY_SECRET_NAME)"
[[ -n "${secret_name}" ]] || secret_name="${DEFAULT_SECRET_NAME}"
[[ -n "${vault}" ]] || die "no Key Vault: pass --vault or set AZURE_KEY_VAULT_NAME"

if az keyvault secret show --vault-name "${vault}" --name "${secret_name}" --query id --output none 2>/dev/null; then
  if [[ "${if_missing}" == true ]]; then
    printf 'Kept the existing data key %s in %s.\n' "${secret_name}" "${vault}"
    exit 0
  fi
  die "secret ${secret_name} already exists in ${vault}; rotate it with rotate-data-key.sh"
fi

umask 077
key_file="$(mktemp)"
trap 'rm -f "${key_file}"' EXIT

# 32 bytes = 256 bits from the OS CSPRNG, standard base64 with padding, no trailing newline.
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

printf 'Created data key %s in %s.\nVersion: %s\n' "${secret_name}" "${vault}" "${version_id##*/}"
printf 'Never set an expiry on this secret or disable a version that token caches still use.\n'
