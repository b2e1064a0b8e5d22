# Shared by the scripts in this folder (sourced, not run): error exit and setting look-up.
# shellcheck shell=bash

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# The value of an environment variable, else of the current azd environment, else empty.
env_or_azd() {
  local name="$1" value
  value="${!name:-}"
  if [[ -z "${value}" ]] && command -v azd >/dev/null 2>&1; then
    value="$(azd env get-value "${name}" 2>/dev/null)" || value=""
  fi
  printf '%s' "${value}"
}
