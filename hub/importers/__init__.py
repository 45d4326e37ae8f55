"""Importers of the hub: 資格情報 (qualification) and claims CSV files, JP-CLINS and
IPS FHIR resources.

Every importer keys each record by a natural key stored in the ``import_key``
column, so running the same import again updates rows in place and adds nothing.
Bad rows are rejected with their line number (or FHIR entry) and a Japanese
reason, and the good rows of the same file are still stored.
"""
