"""The ambulance tablet app: incident, card read, summary, hospital choice, transfer packet.

It imports only :mod:`mynacard`, :mod:`hub.contract` and :mod:`hub.client`.
"""
