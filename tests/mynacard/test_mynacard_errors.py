"""Tests of the card-core exception tree and its messages."""

from __future__ import annotations

import re

import pytest

from mynacard import errors
from mynacard.errors import (
    ApduError,
    CardError,
    CardRemovedError,
    CertificateError,
    CertificateExpiredError,
    CertificateNotYetValidError,
    CertificateUsageError,
    FileNotFoundOnCardError,
    NoCardError,
    NoReaderError,
    NotMyNumberCardError,
    PinBlockedError,
    ReaderUnavailableError,
    SecurityStatusNotSatisfiedError,
    TransportError,
    UntrustedCertificateError,
    WrongPinError,
)

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

TREE = [
    (TransportError, CardError),
    (NoReaderError, TransportError),
    (NoCardError, TransportError),
    (CardRemovedError, TransportError),
    (ReaderUnavailableError, TransportError),
    (ApduError, CardError),
    (NotMyNumberCardError, CardError),
    (FileNotFoundOnCardError, CardError),
    (SecurityStatusNotSatisfiedError, CardError),
    (WrongPinError, CardError),
    (PinBlockedError, CardError),
    (CertificateError, CardError),
    (UntrustedCertificateError, CertificateError),
    (CertificateExpiredError, CertificateError),
    (CertificateNotYetValidError, CertificateError),
    (CertificateUsageError, CertificateError),
]


@pytest.mark.parametrize(("child", "parent"), TREE)
def test_error_tree_parent(child: type, parent: type) -> None:
    assert issubclass(child, parent)


def _instances() -> list[CardError]:
    return [
        CardError(),
        TransportError(),
        NoReaderError(),
        NoCardError(),
        CardRemovedError(),
        ReaderUnavailableError(),
        ApduError(0x6A82),
        errors.CardDataError(),
        NotMyNumberCardError(None),
        FileNotFoundOnCardError(0x000A),
        SecurityStatusNotSatisfiedError(),
        errors.InvalidPinFormatError(),
        WrongPinError(2),
        PinBlockedError(),
        CertificateError(),
        UntrustedCertificateError(),
        CertificateExpiredError(),
        CertificateNotYetValidError(),
        CertificateUsageError(),
    ]


@pytest.mark.parametrize("error", _instances(), ids=lambda error: type(error).__name__)
def test_error_user_message_japanese(error: CardError) -> None:
    assert JAPANESE.search(error.user_message)
    assert not JAPANESE.search(str(error)), "the log message should be English"


def test_error_user_message_override() -> None:
    error = NoCardError("detail", user_message="カードを置いてください。")

    assert str(error) == "detail"
    assert error.user_message == "カードを置いてください。"


def test_apdu_error_str_hex_and_name() -> None:
    error = ApduError(0x6A82, "SELECT")

    assert error.sw == 0x6A82
    assert "6A82" in str(error)
    assert "FILE_NOT_FOUND" in str(error)
    assert "SELECT" in str(error)


def test_apdu_error_str_retry_counter() -> None:
    assert "VERIFICATION_FAILED_2_TRIES_LEFT" in str(ApduError(0x63C2))


def test_not_my_number_card_messages_differ() -> None:
    juki = NotMyNumberCardError("JPKIAPICCTOKEN")
    phone = NotMyNumberCardError("JPKIAPGPSETOKEN")
    other = NotMyNumberCardError(None)
    unknown_token = NotMyNumberCardError("SOMETHING")

    assert "住民基本台帳カード" in juki.user_message
    assert "スマートフォン" in phone.user_message
    assert "マイナンバーカードではありません" in other.user_message
    assert unknown_token.user_message == other.user_message
    assert len({str(juki), str(phone), str(other), str(unknown_token)}) == 4
    assert juki.token == "JPKIAPICCTOKEN"
    assert other.token is None


def test_wrong_pin_message_tries_left() -> None:
    assert WrongPinError(2).tries_left == 2
    assert "あと2回" in WrongPinError(2).user_message
    assert "ロックされました" in WrongPinError(0).user_message


def test_invalid_pin_format_is_value_error() -> None:
    assert issubclass(errors.InvalidPinFormatError, ValueError)
