#!/usr/bin/env bash
# Install what the project needs on a fresh Debian machine: the Debian packages,
# a virtual environment in .venv and the Python packages. Safe to run again:
# each step is skipped when its result is already there.
# Sourced by scripts/demo.sh and scripts/test.sh.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"

# pcscd and the vpcd driver run the virtual card; swig, libpcsclite-dev and gcc
# build pyscard (PyPI ships it as source); the IPAex font renders Japanese in
# PDFs and screenshots; opensc is an independent reader of the card; chromium
# runs the browser tests (driven by the PyPI playwright package).
DEBIAN_PACKAGES=(pcscd vsmartcard-vpcd swig libpcsclite-dev gcc fonts-ipaexfont-gothic opensc chromium)

say() { printf '==> %s\n' "$*"; }

install_debian_packages() {
    local missing=()
    for package in "${DEBIAN_PACKAGES[@]}" "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$package")
        fi
    done

    if [ ${#missing[@]} -eq 0 ]; then
        say "Debian パッケージはインストール済みです"
        return
    fi

    say "Debian パッケージをインストールします: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    echo "エラー: Python 3.11 以上が見つかりません。" >&2
    exit 1
}

create_venv() {
    if [ -x "$VENV/bin/python" ]; then
        say "仮想環境 .venv は作成済みです"
        return
    fi

    local python
    python="$(find_python)"
    say "仮想環境 .venv を $python で作成します"
    if ! "$python" -m venv "$VENV" 2>/dev/null; then
        install_debian_packages python3-venv
        "$python" -m venv "$VENV"
    fi
}

install_python_packages() {
    local stamp="$VENV/.installed-stamp"
    if [ -f "$stamp" ] && [ "$stamp" -nt "$REPO/pyproject.toml" ]; then
        say "Python パッケージはインストール済みです"
        return
    fi

    say "Python パッケージをインストールします (pyproject.toml)"
    "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/python" -m pip install -q -e "$REPO[test]" 2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/python" -c "import smartcard, flask, cryptography" || {
        echo "エラー: Python パッケージのインストールに失敗しました。" >&2
        exit 1
    }
    touch "$stamp"
}

# The hub's tests also run on a real PostgreSQL server: the Debian package, its
# default cluster started without systemd, and a test role and database that
# connect over TCP with a password, so any pg_hba.conf default accepts them.
HUB_TEST_PG_ROLE="myna_test"
HUB_TEST_PG_DATABASE="myna_hub_test"

pg_admin() {
    local query="$1"
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -tAc "$query"
    else
        sudo -u postgres psql -q -v ON_ERROR_STOP=1 -tAc "$query"
    fi
}

ensure_postgres() {
    command -v pg_lsclusters >/dev/null 2>&1 || install_debian_packages postgresql

    local version
    version="$(pg_lsclusters -h | awk '$2 == "main" {print $1; exit}')"
    if [ -z "$version" ]; then
        echo "エラー: PostgreSQL のクラスタ main が見つかりません (pg_lsclusters)。" >&2
        exit 1
    fi

    if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
        say "PostgreSQL $version を起動します"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start
    fi

    if [ "$(pg_admin "SELECT 1 FROM pg_roles WHERE rolname = '$HUB_TEST_PG_ROLE'")" != "1" ]; then
        say "PostgreSQL にテスト用ロール $HUB_TEST_PG_ROLE を作成します"
        pg_admin "CREATE ROLE $HUB_TEST_PG_ROLE LOGIN CREATEDB PASSWORD '$HUB_TEST_PG_ROLE'"
    fi

    if [ "$(pg_admin "SELECT 1 FROM pg_database WHERE datname = '$HUB_TEST_PG_DATABASE'")" != "1" ]; then
        say "PostgreSQL にテスト用データベース $HUB_TEST_PG_DATABASE を作成します"
        pg_admin "CREATE DATABASE $HUB_TEST_PG_DATABASE OWNER $HUB_TEST_PG_ROLE"
    fi

    # The tests make one schema per test in that database.
    pg_admin "GRANT ALL ON DATABASE $HUB_TEST_PG_DATABASE TO $HUB_TEST_PG_ROLE" >/dev/null
}

bootstrap() {
    install_debian_packages
    create_venv
    install_python_packages
}
