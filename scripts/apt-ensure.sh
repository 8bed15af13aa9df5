#!/usr/bin/env bash
# Installs the given Debian packages that are not installed yet (needs root, or the
# packages preinstalled). Used by the CI scripts that need system libraries.
set -euo pipefail
installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
missing=()
for p in "$@"; do
    installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "apt-ensure: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y "${missing[@]}"
fi
