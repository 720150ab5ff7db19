#!/usr/bin/env bash
# Create (once) the project's virtual environment in .venv with every extra (train, eval, dev), then run
# the given command inside it. Usage: bash tools/venv.sh python -m recipes.vctk_unet
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3}"
stamp=".venv/.installed-$(sha1sum setup.py | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[train,eval,dev]"
  rm -f .venv/.installed-*; touch "$stamp"
fi
export PATH="$root/.venv/bin:$PATH"
[ "$#" -gt 0 ] || exit 0
exec "$@"
