#!/usr/bin/env bash
# Set up everything on this machine and run the demo: pcscd with a virtual
# My Number Card, the hub, the hospital portal and the field unit on loopback,
# then one scripted incident. Ctrl-C stops everything it started.

set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

bootstrap
say "デモ用データを準備します"
"$VENV/bin/python" "$REPO/scripts/setup_demo.py"
exec "$VENV/bin/python" "$REPO/scripts/stack.py" demo
