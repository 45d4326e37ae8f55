"""The hub: verifies cards, grants consent-scoped access, serves the 救急用サマリー
(emergency summary), forwards transfer packets and keeps the audit log.

Other apps import only :mod:`hub.contract` (wire formats) and :mod:`hub.client`
(the HTTP client). Everything else in this package is the server.
"""
