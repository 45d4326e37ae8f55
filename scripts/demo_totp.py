"""Print the current TOTP code of the demo doctor, so the demo works without an authenticator app.

Usage: ``python scripts/demo_totp.py [--var DIR]``. For the demo only: a real
account's secret lives in the staff member's authenticator app, not on disk.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hospital_portal.totp import decode_secret, totp  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description="デモ用医師アカウントの確認コードを表示します")
    parser.add_argument("--var", type=Path, default=REPO / "var", help="インスタンスフォルダ (既定: var/)")
    args = parser.parse_args()

    accounts = json.loads((args.var / "demo-accounts.json").read_text(encoding="utf-8"))
    for account in accounts:
        if account.get("totp_secret"):
            remaining = 30 - int(time.time()) % 30
            print(f"{account['login_id']}: {totp(decode_secret(account['totp_secret']), time.time())} (あと {remaining} 秒有効)")

    return 0


if __name__ == "__main__":
    sys.exit(main())
