"""The hospital's app: a live inbox of transfer packets addressed to this hospital.

It imports only :mod:`hub.contract`, :mod:`hub.client` and :mod:`mynacard`.
"""
