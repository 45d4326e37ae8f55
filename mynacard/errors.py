"""Exception tree of the card core.

Every error that the card core raises on purpose derives from ``CardError``. Each error
carries an English message for logs (``str(error)``) and a Japanese ``user_message``
for the ambulance crew. Lower layers raise the generic errors, and the application
sessions (``mynacard.jpki``) turn status words into the domain errors::

    CardError
    ├── TransportError                  PC/SC or virtual-card link failed
    │   ├── NoReaderError               no reader, or the named reader does not exist
    │   ├── NoCardError                 no card in the reader, or it does not respond
    │   ├── CardRemovedError            card removed or reset during an exchange
    │   └── ReaderUnavailableError      pcscd not running, or the reader is in use
    ├── ApduError(sw)                   status word other than 9000
    ├── CardDataError                   malformed data read from the card
    ├── NotMyNumberCardError(token)     JPKI AP missing or token not JPKIAPICCTOKEN2
    ├── FileNotFoundOnCardError(fid)    SELECT EF returned 6A82
    ├── SecurityStatusNotSatisfiedError 6982: the PIN was not verified first
    ├── InvalidPinFormatError           PIN rejected before it was sent
    ├── WrongPinError(tries_left)       63Cx after VERIFY
    ├── PinBlockedError                 6984 after VERIFY, or 63C0 before it
    ├── LastPinTryError                 one try left and the caller did not confirm
    ├── CardFaceError                   card-face data (券面事項) failed a check
    │   ├── CardFaceForgedError         not signed under a pinned J-LIS CA key
    │   ├── CardFaceAlteredError        signed data changed after signing
    │   └── CardClonedError             the chip failed internal authentication
    └── CertificateError                certificate malformed or rejected
        ├── UntrustedCertificateError   no trusted root signed it
        ├── CertificateExpiredError     validity ended
        ├── CertificateNotYetValidError validity not started
        ├── CertificateUsageError       keyUsage lacks digitalSignature, or it is a CA
        ├── CertificatePolicyError      policy OID missing, or a test root in production mode
        ├── CertificateRevokedError     listed as revoked by the CRL or OCSP responder
        └── RevocationCheckError        revocation status could not be established

pyscard and PC/SC result codes are translated into TransportError subclasses in
``mynacard.pcsc``; no pyscard exception leaves that module.

The domain errors are raised ``from`` the ``ApduError`` that caused them, so the status
word stays available as ``error.__cause__.sw``.
"""

from __future__ import annotations

from mynacard.status import status_word_name

MY_NUMBER_CARD_TOKEN = "JPKIAPICCTOKEN2"
RESIDENT_REGISTRY_CARD_TOKEN = "JPKIAPICCTOKEN"
ANDROID_TOKEN = "JPKIAPGPSETOKEN"
IPHONE_TOKEN = "JPKIAPIOSTOKEN"


class CardError(Exception):
    """Base class of the card core's errors.

    ``user_message`` is Japanese text that the crew's screen can show as is.
    """

    default_message = "card operation failed"
    default_user_message = "カードの読み取りに失敗しました。もう一度読み取ってください。"

    def __init__(self, message: str | None = None, *, user_message: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.user_message: str = user_message or self.default_user_message


class TransportError(CardError):
    """The link to the card failed below the APDU layer."""

    default_message = "communication with the card reader failed"
    default_user_message = "カードリーダーとの通信に失敗しました。リーダーの接続を確認してください。"


class NoReaderError(TransportError):
    """No card reader is connected, or the requested reader does not exist."""

    default_message = "no card reader found"
    default_user_message = "カードリーダーが見つかりません。リーダーの接続を確認してください。"


class NoCardError(TransportError):
    """The reader contains no card, or the card in it does not respond."""

    default_message = "no card in the reader"
    default_user_message = "カードが置かれていません。マイナンバーカードをリーダーに置いてください。"


class CardRemovedError(TransportError):
    """The card was removed or reset while a command was being exchanged."""

    default_message = "the card was removed or reset during the exchange"
    default_user_message = "読み取り中にカードが離れました。カードを置き直して、もう一度読み取ってください。"


class ReaderUnavailableError(TransportError):
    """The PC/SC service (pcscd) is not running, or the reader is busy or gone."""

    default_message = "the PC/SC service or the reader is unavailable"
    default_user_message = (
        "カードリーダーを利用できません。端末を再起動しても直らない場合は管理者に連絡してください。"
    )


class ApduError(CardError):
    """The card returned a status word other than 9000."""

    def __init__(self, sw: int, command: str | None = None) -> None:
        self.sw = sw
        self.command = command
        where = f" to {command}" if command else ""
        super().__init__(
            f"card returned SW {sw:04X} ({status_word_name(sw)}){where}",
            user_message=f"カードが想定外の応答を返しました（{sw:04X}）。もう一度読み取ってください。",
        )


class CardDataError(CardError):
    """Data read from the card is malformed or truncated."""

    default_message = "data read from the card is malformed"
    default_user_message = "カードのデータを正しく読み取れませんでした。もう一度読み取ってください。"


class NotMyNumberCardError(CardError):
    """The card is not a My Number Card.

    ``token`` is the JPKI token label read from EF 0006, or None when the card has no
    JPKI application at all. ``card_kind`` names what the card was recognised as when
    it has no JPKI application: one of the ``CARD_KIND_*`` values, taken from its ATR.
    """

    def __init__(self, token: str | None, card_kind: str | None = None) -> None:
        self.token = token
        self.card_kind = card_kind
        super().__init__(
            _not_my_number_card_message(token, card_kind),
            user_message=_not_my_number_card_user_message(token, card_kind),
        )


# What a card without a JPKI application was recognised as, from its ATR.
CARD_KIND_DRIVERS_LICENCE = "drivers_licence"
CARD_KIND_RESIDENT_REGISTRY = "resident_registry_card"
CARD_KIND_HPKI = "hpki_card"
CARD_KIND_OTHER = "other"

_CARD_KIND_USER_MESSAGES = {
    CARD_KIND_DRIVERS_LICENCE: "運転免許証は使えません。マイナンバーカードをリーダーに置いてください。",
    CARD_KIND_RESIDENT_REGISTRY: "住民基本台帳カードは使えません。マイナンバーカードをリーダーに置いてください。",
    CARD_KIND_HPKI: "医師資格証（HPKIカード）は使えません。マイナンバーカードをリーダーに置いてください。",
}


def _not_my_number_card_message(token: str | None, card_kind: str | None = None) -> str:
    if token is None:
        kind = f" (ATR matches a {card_kind.replace('_', ' ')})" if card_kind and card_kind != CARD_KIND_OTHER else ""
        return f"the card has no JPKI application, so it is not a My Number Card{kind}"
    if token == RESIDENT_REGISTRY_CARD_TOKEN:
        return f"token {token!r} is an old Basic Resident Registration card (juki card), not a My Number Card"
    if token in (ANDROID_TOKEN, IPHONE_TOKEN):
        return f"token {token!r} is a smartphone JPKI certificate, not a My Number Card"
    return f"unexpected JPKI token {token!r}, expected {MY_NUMBER_CARD_TOKEN!r}"


def _not_my_number_card_user_message(token: str | None, card_kind: str | None = None) -> str:
    if token == RESIDENT_REGISTRY_CARD_TOKEN:
        return _CARD_KIND_USER_MESSAGES[CARD_KIND_RESIDENT_REGISTRY]
    if token in (ANDROID_TOKEN, IPHONE_TOKEN):
        return "スマートフォンの電子証明書には対応していません。マイナンバーカード本体をリーダーに置いてください。"
    if token is None and card_kind in _CARD_KIND_USER_MESSAGES:
        return _CARD_KIND_USER_MESSAGES[card_kind]
    return "マイナンバーカードではありません。マイナンバーカードをリーダーに置いてください。"


class FileNotFoundOnCardError(CardError):
    """SELECT of an EF returned 6A82. ``fid`` is the file identifier, when known."""

    def __init__(self, fid: int | None = None) -> None:
        self.fid = fid
        name = f"EF {fid:04X}" if fid is not None else "the requested file"
        super().__init__(
            f"{name} was not found on the card",
            user_message="カードに必要なデータがありません。マイナンバーカードか確認してください。",
        )


class SecurityStatusNotSatisfiedError(CardError):
    """The card returned 6982 because the PIN for the file or key was not verified."""

    default_message = "security status not satisfied: verify the PIN first"
    default_user_message = "暗証番号の確認が済んでいないため、この操作はできません。"


class InvalidPinFormatError(CardError, ValueError):
    """The PIN has the wrong format, so it was not sent to the card and no try was used."""

    default_message = "the PIN must be exactly 4 ASCII digits"
    default_user_message = "暗証番号は4桁の数字で入力してください。"


class WrongPinError(CardError):
    """VERIFY returned 63Cx. ``tries_left`` is x, and 0 means that this try blocked the PIN."""

    def __init__(self, tries_left: int) -> None:
        self.tries_left = tries_left
        if tries_left == 0:
            user_message = (
                "暗証番号が違います。暗証番号がロックされました。"
                "解除には住民票のある市区町村の窓口での手続きが必要です。"
            )
        else:
            user_message = f"暗証番号が違います。あと{tries_left}回間違えるとロックされます。"
        super().__init__(f"wrong PIN, {tries_left} tries left", user_message=user_message)


class PinBlockedError(CardError):
    """VERIFY returned 6984. The PIN is blocked, and only a municipal office can reset it."""

    default_message = "the PIN is blocked"
    default_user_message = (
        "暗証番号がロックされています。暗証番号による同意はできません。"
        "解除には住民票のある市区町村の窓口での手続きが必要です。"
    )


class CertificateError(CardError):
    """The certificate is malformed or failed verification."""

    default_message = "certificate verification failed"
    default_user_message = "電子証明書を確認できませんでした。"


class UntrustedCertificateError(CertificateError):
    """No root in the trust store signed the certificate."""

    default_message = "the certificate was not issued by a trusted root"
    default_user_message = "電子証明書の発行元を確認できません。正規のマイナンバーカードではない可能性があります。"


class CertificateExpiredError(CertificateError):
    """The certificate (or its root) was no longer valid at the time of the check."""

    default_message = "the certificate has expired"
    default_user_message = "電子証明書の有効期限が切れています。"


class CertificateNotYetValidError(CertificateError):
    """The certificate (or its root) was not yet valid at the time of the check."""

    default_message = "the certificate is not yet valid"
    default_user_message = "電子証明書の有効期間がまだ始まっていません。端末の日時を確認してください。"


class CertificateUsageError(CertificateError):
    """The certificate may not be used for user authentication."""

    default_message = "the certificate is not valid for user authentication"
    default_user_message = "利用者証明用の電子証明書ではありません。"


class LastPinTryError(CardError):
    """Only one try remains, so the PIN was not sent: the caller must confirm the last try."""

    default_message = "one PIN try left; confirm the last try explicitly to send the PIN"
    default_user_message = (
        "暗証番号の残り回数が1回です。間違えるとロックされます。"
        "本人に確認のうえ、最後の1回として入力してください。"
    )


class CardFaceError(CardError):
    """Card-face data (券面事項) read with 照合番号B failed a check."""

    default_message = "card-face data failed verification"
    default_user_message = "券面事項を確認できませんでした。"


class CardFaceForgedError(CardFaceError):
    """The card-face data is not signed under a pinned J-LIS CA key: a forged card."""

    default_message = "card-face data is not signed under a trusted J-LIS CA key"
    default_user_message = "券面事項の署名を確認できません。偽造されたカードの可能性があります。"


class CardFaceAlteredError(CardFaceError):
    """The signature over the card-face data does not match it: the data was changed after signing."""

    default_message = "card-face data does not match its signature"
    default_user_message = "券面事項が改ざんされています。偽造されたカードの可能性があります。"


class CardClonedError(CardFaceError):
    """The chip could not prove that it holds the key of its signed data: a copy of another card's data."""

    default_message = "the chip failed internal authentication against the key in its signed data"
    default_user_message = "ICチップの真正性を確認できません。複製されたカードの可能性があります。"


class CertificatePolicyError(CertificateError):
    """The certificate lacks the required policy OID, or a test root was used in production mode."""

    default_message = "the certificate policy is not accepted"
    default_user_message = "電子証明書の種類が対象外です。正規のマイナンバーカードではない可能性があります。"


class CertificateRevokedError(CertificateError):
    """The CRL or OCSP responder lists the certificate as revoked."""

    default_message = "the certificate has been revoked"
    default_user_message = "電子証明書は失効しています。カードの電子証明書が更新されていないか確認してください。"


class RevocationCheckError(CertificateError):
    """The revocation status could not be established (CRL missing or stale, OCSP unreachable or invalid)."""

    default_message = "the revocation status of the certificate could not be checked"
    default_user_message = "電子証明書の失効確認ができませんでした。通信状態を確認して、もう一度お試しください。"
