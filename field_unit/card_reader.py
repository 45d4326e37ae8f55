"""Read the 利用者証明用 certificate from the card in the reader, through PC/SC."""

from __future__ import annotations

import logging

from mynacard import pcsc
from mynacard.apdu import ApduProtocol
from mynacard.jpki import JpkiSession

logger = logging.getLogger(__name__)


def read_auth_certificate(reader: str | None) -> bytes:
    """Check that the card is a My Number Card and return its auth certificate (DER).

    :raises mynacard.errors.CardError: with a Japanese ``user_message`` for the crew
    """
    with pcsc.connect(reader) as connection:
        session = JpkiSession(ApduProtocol(connection))
        token = session.ensure_my_number_card()
        logger.debug("card token %s", token)
        certificate = session.read_auth_certificate()

    logger.info("auth certificate read (%d bytes)", len(certificate))
    return certificate
