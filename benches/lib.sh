# benches/lib.sh: what benches/check.sh and benches/run.sh share. Sourced, not run.
# Expects ROOT (the repository), BUILD (1 to build flowc) and NAME (the script's name,
# for messages) to be set.

SUDO=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
fi

# ensure_tools COMMAND:PACKAGE...: installs with apt-get the packages whose command is
# missing (one `apt-get update` first). `/usr/bin/time:time` checks a path instead.
ensure_tools() {
    local missing=() pair cmd pkg
    for pair in "$@"; do
        cmd="${pair%%:*}"
        pkg="${pair#*:}"
        case "$cmd" in
            /*) [ -x "$cmd" ] || missing+=("$pkg") ;;
            *) command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg") ;;
        esac
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "$NAME: need ${missing[*]}, but apt-get is not available; install it by hand" >&2
        exit 1
    fi
    echo "==> apt-get update"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    echo "==> apt-get install ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# find_flowc: sets FLOWC (from the environment, or target/release/flowc, built unless
# BUILD=0) and fails if it is not there.
find_flowc() {
    if [ -n "${FLOWC:-}" ]; then
        BUILD=0
    else
        FLOWC="${CARGO_TARGET_DIR:-$ROOT/target}/release/flowc"
        case "$FLOWC" in /*) ;; *) FLOWC="$ROOT/$FLOWC" ;; esac
    fi
    if [ "$BUILD" -eq 1 ]; then
        echo "==> cargo build --release"
        (cd "$ROOT" && cargo build --release)
    fi
    if [ ! -x "$FLOWC" ]; then
        echo "$NAME: flowc binary not found at $FLOWC" >&2
        exit 1
    fi
}

# make_work NAME: sets WORK to a new temporary directory, deleted when the script exits.
make_work() {
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/flowc-bench-$1.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
}

# one_run_case SHAPE SIZE: generates that `flowc run` workflow, with its Makefile and
# build.ninja, into $WORK/in (benches/gen_run.py); sets `flow` and `make_dir`.
one_run_case() {
    python3 "$SCRIPT_DIR/gen_run.py" --out "$WORK/in" --shapes "$1" --sizes "$2" > "$WORK/cases.tsv"
    IFS=$'\t' read -r _ _ flow make_dir _ < "$WORK/cases.tsv"
}
