#!/usr/bin/env bash
# Tests the Emacs mode in batch mode: byte-compiles flow-mode.el with warnings as errors,
# then runs the ERT tests of flow-mode-tests.el. Needs emacs (Debian: emacs-nox).
set -euo pipefail
cd "$(dirname "$0")"
emacs="${EMACS:-emacs}"
trap 'rm -f flow-mode.elc' EXIT
"$emacs" -Q --batch --eval '(setq byte-compile-error-on-warn t)' -f batch-byte-compile flow-mode.el
"$emacs" -Q --batch -L . -l flow-mode-tests.el -f ert-run-tests-batch-and-exit
