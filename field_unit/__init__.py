"""The ambulance tablet app: incident, card read, summary, hospital choice, transfer packet.

It imports only :mod:`mynacard`, :mod:`hub.contract`, :mod:`hub.client` and
:mod:`hub.documents`. Every action is committed to the tablet's SQLite database first
(patient data sealed with AES-GCM, see :mod:`field_unit.crypto`) and reaches the hub
through the ordered outbox (:mod:`field_unit.outbox`), drained by APScheduler.
"""
