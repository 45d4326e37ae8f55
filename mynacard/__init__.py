"""Card core of the マイナ救急 system: reading the My Number Card over PC/SC.

The layers, lowest first:

- ``transport``: one abstract ``transmit``. ``pcsc`` is the only module importing pyscard.
- ``apdu``: command encoding, and the one place where a status word other than 9000
  becomes an error.
- ``session``: the commands all applications share. ``jpki`` is the JPKI AP and
  ``faceaps`` the two card-face APs; they map status words to domain errors.
- ``certs`` and ``revocation``: verification of the auth certificate. ``facedata``
  checks the card-face records and their J-LIS signatures.

``virtual`` contains a virtual card for tests, and ``devpki`` the development PKI that
issues it. All errors are defined in ``errors``.

The individual number (個人番号) is never read, and PINs and 照合番号B are never logged
or stored.
"""
