# Sourced by the other scripts: a virtualenv with the project installed, re-installed when
# pyproject.toml changes. VENV picks its place (default .venv beside the project).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "dspex-gql needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))" >&2; exit 1; }

VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(cat pyproject.toml scripts/_env.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installing dspex-gql, its development tools and the dspy extra into $VENV ..." >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e ".[dev,dspy]"
  rm -f "$VENV"/.installed-* && touch "$stamp"
fi
export PATH="$PWD/$VENV/bin:$PATH"
