#!/usr/bin/env bash
# The text of PDFs, Hearth (hearth-cli read-doc, engine/docs/pdf_text) beside pdfminer.six in the
# same run: milliseconds per file, and how much of pdfminer's text Hearth gives in the same order
# (words, and characters without white space: layout order and spacing differ where pages have
# columns, tables of contents or figures). Python with pdfminer.six is needed for the peer only;
# nothing in the build or the tests runs this.
# Usage: tests/bench/pdf-text-vs-pdfminer.sh [BUILD_DIR] [PASSES] [PYTHON] PDF...
set -euo pipefail
BUILD=${1:-build}
PASSES=${2:-5}
PY=${3:-python3}
shift 3
HERE=$(cd "$(dirname "$0")" && pwd)
"$PY" "$HERE/pdf_text_peer.py" "$BUILD/app/cli/hearth-cli" "$PASSES" "$@"
