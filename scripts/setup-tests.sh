#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine: the services and tools some tests run for real
# (Debian packages) and every Python package (the core with its extras, every plugin, the linters).
# Idempotent: what is already there is not installed again. Used by the README's test command and by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

# Debian packages, by the command each provides: a real redis-server for the Redis/Celery tests,
# promtool (package prometheus) for the alert-rule tests, chromium + chromedriver for the /ui browser test.
declare -A APT=([redis-server]=redis-server [promtool]=prometheus [chromium]=chromium [chromedriver]=chromium-driver)
missing=()
for cmd in "${!APT[@]}"; do command -v "$cmd" >/dev/null || missing+=("${APT[$cmd]}"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The CPU wheel of torch first, so nothing pulls the multi-GB CUDA build (the project itself asks torch>=2.4).
python -c "import torch" 2>/dev/null || python -m pip install --quiet torch==2.13.0
plugins=()
for dir in plugins/*/; do
  # each plugin's own `test` extra brings what its tests need (pip only warns when a plugin has none)
  [ -f "$dir/pyproject.toml" ] && plugins+=(-e "${dir%/}[test]")
done
python -m pip install --quiet -e ".[all,test]" "${plugins[@]}"
