"""The 救急用サマリー (emergency summary) as a FHIR R4 document Bundle.

The Bundle is shaped like the HL7 International Patient Summary (IPS): a
Composition with LOINC 60591-5 and the IPS sections for medications, allergies,
problems and procedures, plus vital signs and the visit history. Resources follow
JP Core conventions: the patient's name twice, in kanji (``IDE``) and kana
(``SYL``), and the Coverage identifier ``保険者番号:記号:番号:枝番`` joined by
half-width colons under the JP-CLINS member-id system.

Pure function of :mod:`hub.contract` types, so the field unit, the hospital
portal and the hub make the same document. Resource ids are UUIDv5 values
derived from the grant or packet, so the same input always gives the same
Bundle.
"""

from __future__ import annotations

import html
import uuid
from typing import Any

from hub.contract import (
    SEVERITIES,
    InsuranceInfo,
    InteractionItem,
    MedicationItem,
    NamedDateItem,
    PatientInfo,
    Summary,
    TransferPacket,
    Vitals,
    VisitItem,
)

LOINC = "http://loinc.org"
FLAG_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/flag-category"
UCUM = "http://unitsofmeasure.org"

# JP Core and JP-CLINS identifiers and code systems (JP Core 1.1.2-url, JP-CLINS IG).
JP_CORE = "http://jpfhir.jp/fhir/core/StructureDefinition/"
INSURANCE_MEMBER_ID_SYSTEM = "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID"
INSURER_NUMBER_SYSTEM = "urn:oid:1.2.392.100495.20.3.61"
YJ_CODE_SYSTEM = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code"
NAME_REPRESENTATION_URL = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"

IPS_COMPOSITION_PROFILE = "http://hl7.org/fhir/uv/ips/StructureDefinition/Composition-uv-ips"
EMPTY_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"

# Fixed namespace for the UUIDv5 resource ids of this module.
_ID_NAMESPACE = uuid.UUID("6f1c2d8e-4b7a-5e39-9a51-0c2f7d4e8b13")

SEX_TO_GENDER = {"1": "male", "2": "female", "9": "other"}

# 本人/家族 → JP Core Coverage.relationship, coded with the MHLW 別表12 被保険者区分
# (1 被保険者, 2 被扶養者) as JP_Coverage.fsh of JP Core 1.2.0-dev suggests.
INSURED_PERSON_CATEGORY_SYSTEM = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/InsuredPersonCategory"
RELATIONSHIP_CODES = {"本人": ("1", "被保険者"), "家族": ("2", "被扶養者")}

# Vital signs as (Vitals field, LOINC code, display, UCUM unit).
VITAL_SIGNS = (
    ("heart_rate", "8867-4", "Heart rate", "/min"),
    ("respiratory_rate", "9279-1", "Respiratory rate", "/min"),
    ("spo2", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"),
    ("body_temperature", "8310-5", "Body temperature", "Cel"),
)
BLOOD_PRESSURE = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")


class _Builder:
    """Collects Bundle entries and gives each resource a stable ``urn:uuid`` reference."""

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self.entries: list[dict[str, Any]] = []

    def add(self, key: str, resource: dict[str, Any]) -> str:
        resource_id = str(uuid.uuid5(_ID_NAMESPACE, f"{self.seed}/{key}"))
        resource["id"] = resource_id
        full_url = f"urn:uuid:{resource_id}"
        self.entries.append({"fullUrl": full_url, "resource": resource})
        return full_url


def summary_bundle(summary: Summary, packet: TransferPacket | None = None) -> dict[str, Any]:
    """Build the FHIR R4 document Bundle for ``summary``, with vitals from ``packet`` if given."""
    seed = f"{summary.grant_id}/{packet.packet_id if packet else ''}"
    builder = _Builder(seed)

    composition_entry: dict[str, Any] = {}
    builder.entries.append(composition_entry)

    patient_ref = builder.add("patient", _patient(summary.patient, summary.insurance))
    author_ref = builder.add("author", _author(packet))
    if summary.insurance is not None:
        builder.add("coverage", _coverage(summary.insurance, patient_ref))

    sections = [
        _section_from(builder, "medications", "10160-0", "History of Medication use Narrative", "服薬情報",
                      [_medication_statement(item, patient_ref) for item in summary.medications],
                      [_medication_text(item) for item in summary.medications]),
        _section_from(builder, "allergies", "48765-2", "Allergies and adverse reactions Document", "アレルギー",
                      [_allergy(item, patient_ref) for item in summary.allergies],
                      [_named_text(item) for item in summary.allergies]),
        _section_from(builder, "problems", "11450-4", "Problem list - Reported", "傷病名",
                      [_condition(item, patient_ref) for item in summary.conditions],
                      [_named_text(item) for item in summary.conditions]),
        _section_from(builder, "procedures", "47519-4", "History of Procedures Document", "手術・診療行為",
                      [_procedure(item, patient_ref) for item in [*summary.surgeries, *summary.procedures]],
                      [_named_text(item) for item in [*summary.surgeries, *summary.procedures]]),
        _section_from(builder, "visits", "46240-8", "History of Hospitalizations+Outpatient visits Narrative", "受診歴",
                      [_encounter(item, patient_ref) for item in summary.visits],
                      [_visit_text(item) for item in summary.visits]),
    ]
    if summary.interactions:
        # NOTE: the Alerts section and its Flag entries come from IPS STU2; the
        # section's LOINC code here was not checked against that profile.
        sections.append(
            _section_from(builder, "alerts", "104605-1", "Alert", "処方チェック(重複投薬・併用禁忌)",
                          [_interaction_flag(item, patient_ref) for item in summary.interactions],
                          [_interaction_text(item) for item in summary.interactions])
        )

    if packet is not None:
        vital_resources = [resource for vitals in packet.vitals for resource in _vital_observations(vitals, patient_ref)]
        sections.append(
            _section_from(builder, "vitals", "8716-3", "Vital signs", "バイタルサイン", vital_resources,
                          [_vitals_text(vitals) for vitals in packet.vitals])
        )

    composition = _composition(summary, packet, patient_ref, author_ref, sections)
    composition["id"] = str(uuid.uuid5(_ID_NAMESPACE, f"{seed}/composition"))
    composition_entry.update({"fullUrl": f"urn:uuid:{composition['id']}", "resource": composition})

    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_ID_NAMESPACE, f"{seed}/bundle")),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, seed)}"},
        "type": "document",
        "timestamp": summary.generated_at,
        "entry": builder.entries,
    }


def _composition(
    summary: Summary, packet: TransferPacket | None, patient_ref: str, author_ref: str, sections: list[dict[str, Any]]
) -> dict[str, Any]:
    title = "救急用サマリー" if packet is None else f"救急搬送連絡 ({packet.chief_complaint})"
    return {
        "resourceType": "Composition",
        "meta": {"profile": [IPS_COMPOSITION_PROFILE]},
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}]},
        "subject": {"reference": patient_ref},
        "date": summary.generated_at,
        "author": [{"reference": author_ref}],
        "title": title,
        "confidentiality": "R",
        "section": sections,
    }


def _patient(patient: PatientInfo, insurance: InsuranceInfo | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "meta": {"profile": [JP_CORE + "JP_Patient"]},
        "name": [
            _human_name("IDE", patient.family_name, patient.given_name),
            _human_name("SYL", patient.family_kana, patient.given_kana),
        ],
        "gender": SEX_TO_GENDER.get(patient.sex, "unknown"),
        "birthDate": patient.birth_date,
        "address": [{"text": patient.address, "country": "JP"}],
    }
    if insurance is not None:
        resource["identifier"] = [{"system": INSURANCE_MEMBER_ID_SYSTEM, "value": insurance_member_id(insurance)}]

    return resource


def _human_name(representation: str, family: str, given: str) -> dict[str, Any]:
    return {
        "extension": [{"url": NAME_REPRESENTATION_URL, "valueCode": representation}],
        "use": "official",
        "text": f"{family} {given}",
        "family": family,
        "given": [given],
    }


def insurance_member_id(insurance: InsuranceInfo) -> str:
    """Return the JP Core member id ``保険者番号:記号:番号:枝番`` (枝番 zero-padded to 2 digits)."""
    branch = insurance.branch.zfill(2) if insurance.branch else "00"
    return ":".join((insurance.insurer_number, insurance.symbol, insurance.number, branch))


def _author(packet: TransferPacket | None) -> dict[str, Any]:
    # The author is the ambulance unit for a transfer packet, else the hub that released the summary.
    name = packet.unit_name if packet is not None else "マイナ救急ハブ"
    return {"resourceType": "Organization", "meta": {"profile": [JP_CORE + "JP_Organization"]}, "name": name}


def _coverage(insurance: InsuranceInfo, patient_ref: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Coverage",
        "meta": {"profile": [JP_CORE + "JP_Coverage"]},
        "identifier": [{"system": INSURANCE_MEMBER_ID_SYSTEM, "value": insurance_member_id(insurance)}],
        "status": "active",
        "beneficiary": {"reference": patient_ref},
        "dependent": insurance.branch.zfill(2) if insurance.branch else "00",
        "period": {"start": insurance.valid_from},
        "payor": [
            {
                "identifier": {"system": INSURER_NUMBER_SYSTEM, "value": insurance.insurer_number},
                "display": insurance.insurer_name,
            }
        ],
        "costToBeneficiary": [
            {
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-copay-type", "code": "copaypct"}]},
                "valueQuantity": {"value": insurance.copay_ratio, "unit": "%", "system": UCUM, "code": "%"},
            }
        ],
    }
    if insurance.valid_to:
        resource["period"]["end"] = insurance.valid_to

    relationship = RELATIONSHIP_CODES.get(insurance.relationship)
    if relationship is not None:
        code, display = relationship
        resource["relationship"] = {
            "coding": [{"system": "http://jpfhir.jp/fhir/core/CodeSystem/JP_SubscriberRelationship_CS", "code": code, "display": display}]
        }

    if insurance.limit_category:
        # 限度額適用区分 (high-cost care category) has no JP Core element; kept as coverage class.
        resource["class"] = [
            {
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}]},
                "value": insurance.limit_category,
                "name": "限度額適用区分",
            }
        ]

    return resource


def _medication_statement(item: MedicationItem, patient_ref: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationCodeableConcept": {
            "coding": [{"system": YJ_CODE_SYSTEM, "code": item.drug_code, "display": item.drug_name}],
            "text": item.drug_name,
        },
        "subject": {"reference": patient_ref},
        "effectivePeriod": {"start": item.dispensed_on},
        "informationSource": {"display": item.hospital_name},
        "dosage": [{"text": f"{item.dose} {item.days}日分"}],
        "note": [{"text": f"成分: {item.ingredient} / 情報源: {item.source}"}],
    }
    if item.high_risk:
        resource["note"].append({"text": f"ハイリスク薬: {item.high_risk}"})

    return resource


def _allergy(item: NamedDateItem, patient_ref: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "meta": {"profile": [JP_CORE + "JP_AllergyIntolerance"]},
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]
        },
        "code": {"text": item.name},
        "patient": {"reference": patient_ref},
    }
    if item.date:
        resource["recordedDate"] = item.date

    if item.detail:
        resource["reaction"] = [{"manifestation": [{"text": item.detail}]}]

    return resource


def _condition(item: NamedDateItem, patient_ref: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "meta": {"profile": [JP_CORE + "JP_Condition"]},
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}
        ],
        "code": {"text": item.name},
        "subject": {"reference": patient_ref},
    }
    if item.date:
        resource["onsetDateTime"] = item.date

    if item.detail:
        resource["note"] = [{"text": item.detail}]

    return resource


def _procedure(item: NamedDateItem, patient_ref: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "meta": {"profile": [JP_CORE + "JP_Procedure"]},
        "status": "completed",
        "code": {"text": item.name},
        "subject": {"reference": patient_ref},
    }
    if item.date:
        resource["performedDateTime"] = item.date

    if item.detail:
        resource["note"] = [{"text": item.detail}]

    return resource


def _interaction_flag(item: InteractionItem, patient_ref: str) -> dict[str, Any]:
    return {
        "resourceType": "Flag",
        "status": "active",
        "category": [{"coding": [{"system": FLAG_CATEGORY_SYSTEM, "code": "drug", "display": "Drug"}]}],
        "code": {"text": _interaction_text(item)},
        "subject": {"reference": patient_ref},
    }


def _interaction_text(item: InteractionItem) -> str:
    reason = f" {item.reason}" if item.reason else ""
    return f"{item.kind}: {item.drug_a} と {item.drug_b}{reason} (出典: {item.source})"


def _encounter(item: VisitItem, patient_ref: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "meta": {"profile": [JP_CORE + "JP_Encounter"]},
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
        "subject": {"reference": patient_ref},
        "period": {"start": item.visited_on},
        "serviceType": {"text": item.department},
        "serviceProvider": {
            "identifier": {"system": "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no", "value": item.hospital_code},
            "display": item.hospital_name,
        },
    }


def _vital_observations(vitals: Vitals, patient_ref: str) -> list[dict[str, Any]]:
    observations = []
    for field_name, code, display, unit in VITAL_SIGNS:
        value = getattr(vitals, field_name)
        if value is None:
            continue

        observation = _vital_base(vitals, patient_ref, code, display)
        observation["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
        observations.append(observation)

    if vitals.systolic_bp is not None or vitals.diastolic_bp is not None:
        observations.append(_blood_pressure(vitals, patient_ref))

    if vitals.jcs:
        observation = _vital_base(vitals, patient_ref, None, "JCS (Japan Coma Scale)")
        observation["valueString"] = vitals.jcs
        observations.append(observation)

    return observations


def _vital_base(vitals: Vitals, patient_ref: str, code: str | None, display: str) -> dict[str, Any]:
    # JCS has no LOINC code; it is sent as text only.
    code_element: dict[str, Any] = {"text": display}
    if code is not None:
        code_element["coding"] = [{"system": LOINC, "code": code, "display": display}]

    return {
        "resourceType": "Observation",
        "meta": {"profile": [JP_CORE + "JP_Observation_VitalSigns"]},
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY_SYSTEM, "code": "vital-signs"}]}],
        "code": code_element,
        "subject": {"reference": patient_ref},
        "effectiveDateTime": vitals.measured_at,
    }


def _blood_pressure(vitals: Vitals, patient_ref: str) -> dict[str, Any]:
    observation = _vital_base(vitals, patient_ref, *BLOOD_PRESSURE)
    components = []
    for (code, display), value in ((SYSTOLIC, vitals.systolic_bp), (DIASTOLIC, vitals.diastolic_bp)):
        if value is None:
            continue

        components.append(
            {
                "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
                "valueQuantity": {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
            }
        )

    observation["component"] = components
    return observation


def _section_from(
    builder: _Builder,
    key: str,
    loinc_code: str,
    display: str,
    title: str,
    resources: list[dict[str, Any]],
    lines: list[str],
) -> dict[str, Any]:
    section: dict[str, Any] = {
        "title": title,
        "code": {"coding": [{"system": LOINC, "code": loinc_code, "display": display}]},
        "text": {"status": "generated", "div": _narrative(lines)},
    }
    if not resources:
        # IPS: a required section with no data says why instead of being left out.
        section["emptyReason"] = {"coding": [{"system": EMPTY_REASON_SYSTEM, "code": "unavailable", "display": "Unavailable"}]}
        return section

    section["entry"] = [
        {"reference": builder.add(f"{key}/{index}", resource)} for index, resource in enumerate(resources)
    ]
    return section


def _narrative(lines: list[str]) -> str:
    if not lines:
        return '<div xmlns="http://www.w3.org/1999/xhtml"><p>情報なし</p></div>'

    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return f'<div xmlns="http://www.w3.org/1999/xhtml"><ul>{items}</ul></div>'


def _medication_text(item: MedicationItem) -> str:
    risk = f" [{item.high_risk}]" if item.high_risk else ""
    return f"{item.dispensed_on} {item.drug_name} {item.dose} {item.days}日分 ({item.hospital_name}){risk}"


def _named_text(item: NamedDateItem) -> str:
    parts = [item.date or "日付不明", item.name]
    if item.detail:
        parts.append(f"({item.detail})")

    return " ".join(parts)


def _visit_text(item: VisitItem) -> str:
    return f"{item.visited_on} {item.hospital_name} {item.department}"


def _vitals_text(vitals: Vitals) -> str:
    values = [
        ("JCS", vitals.jcs),
        ("血圧", f"{vitals.systolic_bp}/{vitals.diastolic_bp}" if vitals.systolic_bp is not None else None),
        ("脈拍", vitals.heart_rate),
        ("呼吸数", vitals.respiratory_rate),
        ("SpO2", vitals.spo2),
        ("体温", vitals.body_temperature),
        ("GCS", _gcs_text(vitals)),
        ("瞳孔", vitals.pupils),
        ("推定重症度", SEVERITIES.get(vitals.estimated_severity or "")),
    ]
    shown = " ".join(f"{label} {value}" for label, value in values if value is not None)
    return f"{vitals.measured_at} {shown}"


def _gcs_text(vitals: Vitals) -> str | None:
    parts = [(letter, value) for letter, value in (("E", vitals.gcs_e), ("V", vitals.gcs_v), ("M", vitals.gcs_m)) if value is not None]
    return "".join(f"{letter}{value}" for letter, value in parts) or None
