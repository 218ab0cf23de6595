# Shared by the scripts: find Python 3.11+, create .venv once, reinstall only when
# pyproject.toml changes. Usage: source scripts/_venv.sh; ensure_venv [extra]
VENV="${CODEX_AUTH_VENV:-$PWD/.venv}"

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11 python; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

ensure_venv() {
    local extra="${1:-}" spec="." stamp want hash
    [ -n "$extra" ] && spec=".[$extra]"
    if [ ! -x "$VENV/bin/python" ]; then
        local py
        py=$(find_python)
        echo "creating virtual environment in $VENV" >&2
        "$py" -m venv "$VENV"
    fi
    stamp="$VENV/.codex-auth-report-installed"
    hash=$("$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest())')
    want="$hash $extra"
    # An install with extras also satisfies a plain one for the same pyproject.toml.
    if [ ! -f "$stamp" ] || ! { grep -qxF -- "$want" "$stamp" || { [ -z "$extra" ] && grep -q "^$hash " "$stamp"; }; }; then
        echo "installing codex-auth-report ($spec) into $VENV" >&2
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec" >&2
        echo "$want" >> "$stamp"
    fi
}
