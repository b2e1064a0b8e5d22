#!/usr/bin/env bash
# azd's postprovision hook (azure.yaml): after every `azd provision` and `azd up` (before the deploy),
# bring the environment to an app that starts:
#
#   1. register-app.sh               the Entra app registration; its client secret into Key Vault;
#                                    SLOTBRIDGE_CLIENT_ID on the app and in the azd environment
#   2. create-data-key.sh --if-missing   the token-cache data key
#   3. create-app-keys.sh            api-keys, user-token-key, webhook-signing-key, client-state-key
#
# Each step keeps what exists and writes only what is missing, so every later provision runs this
# again without changing anything (no new secret version, no app-settings write, no restart).
# azd passes the environment's values (the Bicep outputs) as environment variables; the steps read
# the vault, app and resource group from them. No secret is printed.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi # azd may start hooks with sh
set -euo pipefail
# shellcheck source=infra/scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [-h|--help]

Run the setup steps of a new Slotbridge environment, keeping whatever already exists:
register-app.sh, create-data-key.sh --if-missing, create-app-keys.sh. azd runs it after every
provision (azure.yaml, hooks.postprovision); run it by hand to repeat the setup.

Needs: az, logged in ('az login': azd's own login does not cover it) to the tenant that owns the
app registration, with Key Vault Secrets Officer on the vault (azd up grants it to the deploying
user), openssl.
USAGE
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is not installed; install it, then run 'azd provision' again"
az account show --output none 2>/dev/null \
  || die "the Azure CLI is not logged in: run 'az login' (azd's login does not cover az), then 'azd provision' again"

scripts_dir="$(dirname "${BASH_SOURCE[0]}")"
printf '\n== Entra app registration (register-app.sh)\n'
bash "${scripts_dir}/register-app.sh"
printf '\n== Token-cache data key (create-data-key.sh)\n'
bash "${scripts_dir}/create-data-key.sh" --if-missing
printf '\n== Keys shared with the product (create-app-keys.sh)\n'
bash "${scripts_dir}/create-app-keys.sh"
