"""Documents made from the wire contract: the handover PDF and the FHIR document.

Pure rendering from :mod:`hub.contract` types, with no Flask and no database,
so that the field unit (offline) and the hospital portal can make the same
documents as the hub. Besides ``hub.contract`` and ``hub.client``, this is the
only part of ``hub`` the other apps may import.
"""
