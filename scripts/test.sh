#!/usr/bin/env bash
# Set up everything on this machine and run the whole test suite, including the
# end-to-end tests on the real pcscd, vpcd, virtual card and HTTP servers.
# Extra arguments go to pytest. Test output (logs, screenshots) goes to test-output/.

set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

bootstrap
ensure_postgres
say "テストを実行します"
cd "$REPO"
exec "$VENV/bin/python" -m pytest "$@"
