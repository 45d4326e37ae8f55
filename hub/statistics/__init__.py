"""Statistics for fire-department administrators.

The figures follow the definitions of the FDMA (総務省消防庁) national statistics:
現場到着所要時間, 病院収容所要時間, 現場滞在時間, the distribution of 照会回数
(hospital inquiries) and 救急搬送困難事案, plus the マイナ救急 funnel.

Layout:

- ``records``: the flat, de-identified incident frame (one row per incident) and
  its conversion from :class:`hub.contract.IncidentReport` payloads.
- ``compute``: pure functions from that frame to a :class:`compute.Report`.
  Screens, the command line, downloads and the benchmark all call them.
- ``export``: CSV (UTF-8 with BOM, for Japanese Excel) and .xlsx files.
- ``charts``: server-side SVG charts.
- ``models``: the tables this package owns (imported records, FDMA series,
  unit-to-station map, department profile).
- ``importing``: CSV import through a column-mapping file, FDMA series import.
- ``compare``: the weekly 救急搬送困難事案 comparison with the prefecture and the nation.
- ``store``: loading one fire department's frame from the database.
- ``views``: the admin screens and downloads (Flask blueprint).
- ``cli``: ``python -m hub stats ...``.
"""
