"""Import JP-CLINS and IPS FHIR R4 resources: Bundles and single resources in JSON files.

Stored: MedicationRequest and MedicationStatement as medications, Condition,
AllergyIntolerance and Procedure as clinical items, and Patient as the insured
person they belong to. Other resources are checked but not stored.

Each resource is checked before anything is stored, with base FHIR rules (required
elements, resolvable contained references) and with the JP-CLINS profile rules that
the JP-CLINS ``ErrorExample`` files break. A prescribed drug needs a YJ code, a
一般処方名 (generic-name prescription) code or the 未コード化 (uncoded) code system.
A lab result needs the institution's local code besides JLAC10. A rejected resource
is reported with its file, its Bundle entry and the reason in Japanese.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from hub.importers.fields import FieldError, member_id, normalised
from hub.importers.report import ImportReport
from hub.importers.upsert import too_long_column, upsert_by_import_key
from hub.models import ClinicalItem, Drug, Medication, Patient, db

MEMBER_ID_SYSTEM = "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID"
YJ_CODE_SYSTEM = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code"
GENERAL_NAME_SYSTEM = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationGeneralOrderCode"
UNCODED_DRUG_SYSTEM = "http://jpfhir.jp/fhir/eCS/CodeSystem/MedicationCodeNocoded_CS"
LAB_LOCAL_CODE_SYSTEM = "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_LocalCode_CS"
NAME_REPRESENTATION_URL = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
JP_CLINS_PROFILE_PREFIX = "http://jpfhir.jp/fhir/"

# Elements a resource must have before the hub reads it (FHIR R4 cardinality 1..1,
# plus the elements the hub needs to place the record in time and to a patient).
REQUIRED_ELEMENTS = {
    "MedicationRequest": ("status", "intent", "subject", "medication[x]"),
    "MedicationStatement": ("status", "subject", "medication[x]"),
    "Condition": ("subject", "code"),
    "AllergyIntolerance": ("patient", "code"),
    "Procedure": ("status", "subject", "code"),
    "Observation": ("status", "code"),
}

# SNOMED CT codes and the IPS absent/unknown code system that state the absence of
# allergies or problems. They are not stored, because an allergy named "No known allergy" would mislead.
ABSENT_CODES = {"716186003", "409137002", "429625007", "428607008", "160245001"}
ABSENT_SYSTEM = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"
NOT_VALID_STATUSES = {"refuted", "entered-in-error"}
SURGICAL_PROCEDURE_CODE = "387713003"

# NOTE: the route is guessed from words in the route and dosage text, because the
# examples code it in several systems (JP route codes, EDQM, free text) or not at all.
EXTERNAL_ROUTE_WORDS = ("外用", "点眼", "点鼻", "点耳", "塗布", "貼付", "坐", "吸入", "うがい", "cutaneous", "topical",
                        "ocular", "nasal", "inhal", "rectal", "transdermal", "vaginal", "auricular")
INJECTION_ROUTE_WORDS = ("注射", "静注", "皮下注", "筋注", "点滴", "intravenous", "subcutaneous", "intramuscular", "injection")


class ResourceError(ValueError):
    """A resource that cannot be imported; the message is the Japanese reason."""


@dataclass
class BundleContext:
    """Resources of one file by their fullUrl and by ``Type/id``, for reference lookups."""

    by_reference: dict[str, dict[str, Any]] = field(default_factory=dict)
    patient_ids: dict[int, int] = field(default_factory=dict)
    # Patients of the other files of the same run, by ``Patient/id``: JP-CLINS single
    # resources refer to a Patient that comes in a file of its own.
    run_patients: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, full_url: str | None, resource: dict[str, Any]) -> None:
        if full_url:
            self.by_reference[full_url] = resource

        if resource.get("id"):
            self.by_reference[f"{resource.get('resourceType')}/{resource['id']}"] = resource

    def resolve(self, reference: str) -> dict[str, Any] | None:
        return self.by_reference.get(reference) or self.run_patients.get(reference)


def import_fhir_files(paths: list[Path]) -> ImportReport:
    """Import JSON files holding Bundles or single resources; a reference may name a Patient in another of the files."""
    report = ImportReport(kind="fhir")
    documents: list[tuple[str, dict[str, Any]]] = []
    for path in paths:
        report.rows += 1
        try:
            documents.append((path.name, _read_resource(path)))
            report.rows -= 1
        except ResourceError as exc:
            report.reject(path.name, "ファイル", str(exc))

    run_patients = _patients_by_reference(data for _, data in documents)
    for source, data in documents:
        _import_document(data, source, report, run_patients)

    return report


def import_fhir_file(path: Path) -> ImportReport:
    """Import one JSON file holding a Bundle or a single resource."""
    return import_fhir_files([path])


def _read_resource(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResourceError(f"JSON として読めません ({type(exc).__name__})") from None

    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise ResourceError("FHIR リソースではありません (resourceType がありません)")

    return data


def _patients_by_reference(documents) -> dict[str, dict[str, Any]]:
    patients = {}
    for data in documents:
        entries = [entry.get("resource") for entry in data.get("entry") or [] if isinstance(entry, dict)]
        for resource in [data, *entries]:
            if isinstance(resource, dict) and resource.get("resourceType") == "Patient" and resource.get("id"):
                patients[f"Patient/{resource['id']}"] = resource

    return patients


def _import_document(data: dict[str, Any], source: str, report: ImportReport,
                     run_patients: dict[str, dict[str, Any]]) -> None:
    if data["resourceType"] == "Bundle":
        _import_bundle(data, source, report, run_patients)
        return

    context = BundleContext(run_patients=run_patients)
    context.add(None, data)
    _import_entry(data, context, source, f"{data['resourceType']}/{data.get('id', '')}", report)


def _import_bundle(bundle: dict[str, Any], source: str, report: ImportReport,
                   run_patients: dict[str, dict[str, Any]]) -> None:
    entries = bundle.get("entry") or []
    problem = _bundle_problem(bundle, entries)
    if problem is not None:
        report.rows += 1
        report.reject(source, "Bundle", problem)
        return

    context = BundleContext(run_patients=run_patients)
    for entry in entries:
        context.add(entry.get("fullUrl"), entry["resource"])

    for index, entry in enumerate(entries):
        resource = entry["resource"]
        location = f"entry[{index}] {resource.get('resourceType')}/{resource.get('id', '')}"
        _import_entry(resource, context, source, location, report)


def _bundle_problem(bundle: dict[str, Any], entries: list[Any]) -> str | None:
    if bundle.get("type") not in ("document", "collection"):
        return f"Bundle.type が {bundle.get('type')!r} です。document または collection だけを取り込みます"

    if any(not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict) for entry in entries):
        return "resource のない entry があります"

    if bundle["type"] == "document" and (not entries or entries[0]["resource"].get("resourceType") != "Composition"):
        return "document Bundle の最初の entry が Composition ではありません (FHIR の規則 bdl-11)"

    return None


def _import_entry(resource: dict[str, Any], context: BundleContext, source: str, location: str,
                  report: ImportReport) -> None:
    report.rows += 1
    try:
        check_resource(resource)
        stored = _store_resource(resource, context)
        db.session.commit()
    except ResourceError as exc:
        db.session.rollback()
        report.reject(source, location, str(exc))
        return

    if stored is None:
        report.skipped += 1
    else:
        report.inserted += stored.inserted
        report.updated += stored.updated
        report.unchanged += stored.unchanged


def check_resource(resource: dict[str, Any]) -> None:
    """Raise ResourceError with the first base-FHIR or JP-CLINS rule the resource breaks."""
    resource_type = resource.get("resourceType")
    for element in REQUIRED_ELEMENTS.get(resource_type, ()):
        if not _has_element(resource, element):
            raise ResourceError(f"{resource_type}.{element} がありません (必須の要素です)")

    _check_contained_references(resource)
    if _claims_jp_clins_profile(resource):
        _check_jp_clins_rules(resource)


def _has_element(resource: dict[str, Any], element: str) -> bool:
    if element.endswith("[x]"):
        stem = element[:-3]
        return any(key.startswith(stem) and key != stem and resource[key] for key in resource)

    return bool(resource.get(element))


def _check_contained_references(resource: dict[str, Any]) -> None:
    contained = {item.get("id") for item in resource.get("contained") or [] if isinstance(item, dict)}
    for reference in _references(resource):
        if reference.startswith("#") and reference[1:] not in contained:
            raise ResourceError(f"参照 {reference} に対応する contained リソースがありません")


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        for key, item in value.items():
            if key != "contained":
                found += _references(item)
        return found

    if isinstance(value, list):
        return [reference for item in value for reference in _references(item)]

    return []


def _claims_jp_clins_profile(resource: dict[str, Any]) -> bool:
    profiles = (resource.get("meta") or {}).get("profile") or []
    return any(profile.startswith(JP_CLINS_PROFILE_PREFIX) for profile in profiles)


def _check_jp_clins_rules(resource: dict[str, Any]) -> None:
    resource_type = resource.get("resourceType")
    if resource_type == "MedicationRequest":
        systems = _systems(resource.get("medicationCodeableConcept"))
        if not systems & {YJ_CODE_SYSTEM, GENERAL_NAME_SYSTEM, UNCODED_DRUG_SYSTEM}:
            raise ResourceError(
                "JP-CLINS の規則違反: 薬剤コードに YJ コードも一般処方名コードも未コード化コードもありません"
                "(HOT9 や院内コードだけでは受け付けません)"
            )

    if resource_type == "Observation" and _is_lab_result(resource):
        if LAB_LOCAL_CODE_SYSTEM not in _systems(resource.get("code")):
            raise ResourceError("JP-CLINS の規則違反: 検体検査結果の code に医療機関のローカルコードがありません(JLAC10 だけです)")


def _is_lab_result(resource: dict[str, Any]) -> bool:
    profiles = (resource.get("meta") or {}).get("profile") or []
    return any("JP_Observation_LabResult" in profile for profile in profiles)


def _systems(concept: dict[str, Any] | None) -> set[str]:
    return {coding.get("system", "") for coding in (concept or {}).get("coding") or []}


def _store_resource(resource: dict[str, Any], context: BundleContext):
    resource_type = resource["resourceType"]
    if resource_type == "Patient":
        _patient_id(resource, context)
        return None

    if resource_type not in ("MedicationRequest", "MedicationStatement", "Condition", "AllergyIntolerance", "Procedure"):
        return None

    if _states_absence(resource):
        return None

    subject = resource.get("patient") if resource_type == "AllergyIntolerance" else resource.get("subject")
    patient_id = _subject_patient_id(subject, context)
    if resource_type in ("MedicationRequest", "MedicationStatement"):
        model, values = Medication, _medication_values(resource, context)
    else:
        model, values = ClinicalItem, _clinical_values(resource)

    values["patient_id"] = patient_id
    values["import_key"] = _import_key(resource, values)
    column = too_long_column(model, values)
    if column is not None:
        raise ResourceError(f"{column} 文字を超える値があります")

    return upsert_by_import_key(model, [values])


def _states_absence(resource: dict[str, Any]) -> bool:
    status_codes = {coding.get("code") for coding in (resource.get("verificationStatus") or {}).get("coding") or []}
    if status_codes & NOT_VALID_STATUSES:
        return True

    codings = (resource.get("code") or {}).get("coding") or []
    return any(coding.get("code") in ABSENT_CODES or coding.get("system") == ABSENT_SYSTEM for coding in codings)


def _subject_patient_id(subject: dict[str, Any], context: BundleContext) -> int:
    reference = subject.get("reference")
    if reference:
        patient = context.resolve(reference)
        if patient is None or patient.get("resourceType") != "Patient":
            raise ResourceError(f"参照先の患者 {reference} がファイルの中にありません")

        return _patient_id(patient, context)

    identifier = subject.get("identifier") or {}
    if identifier.get("system") != MEMBER_ID_SYSTEM:
        raise ResourceError("患者を特定できません (subject に参照も被保険者個人識別子もありません)")

    patient_id = _existing_patient_id(_member_key(identifier.get("value", "")))
    if patient_id is None:
        raise ResourceError("被保険者個人識別子の患者が見つかりません。先に資格情報か Patient を含むファイルを取り込んでください")

    return patient_id


def _member_key(value: str) -> str:
    try:
        return member_id(value).patient_import_key
    except FieldError as exc:
        raise ResourceError(str(exc)) from None


def _existing_patient_id(import_key: str) -> int | None:
    return db.session.execute(db.select(Patient.id).where(Patient.import_key == import_key)).scalar()


def _patient_id(patient: dict[str, Any], context: BundleContext) -> int:
    """Find the stored patient of a Patient resource, creating it from the resource if new.

    An existing patient keeps its demographics: 資格情報 is the authority for them.
    """
    cached = context.patient_ids.get(id(patient))
    if cached is not None:
        return cached

    import_key = _patient_import_key(patient)
    patient_id = _existing_patient_id(import_key)
    if patient_id is None:
        row = Patient(import_key=import_key, **_patient_values(patient, import_key))
        db.session.add(row)
        db.session.flush()
        patient_id = row.id

    context.patient_ids[id(patient)] = patient_id
    return patient_id


def _patient_import_key(patient: dict[str, Any]) -> str:
    identifiers = [item for item in patient.get("identifier") or [] if isinstance(item, dict)]
    for identifier in identifiers:
        if identifier.get("system") == MEMBER_ID_SYSTEM:
            return _member_key(identifier.get("value", ""))

    if not identifiers:
        raise ResourceError("Patient に identifier がないため、同じ患者かどうかを判定できません")

    first = identifiers[0]
    digest = hashlib.sha256(f"{first.get('system', '')}|{first.get('value', '')}".encode("utf-8")).hexdigest()
    return f"fhir-patient:{digest[:40]}"


def _patient_values(patient: dict[str, Any], import_key: str) -> dict[str, Any]:
    if not patient.get("birthDate"):
        raise ResourceError("新しい患者の Patient に生年月日 (birthDate) がないため登録できません")

    kanji, kana = _names(patient.get("name") or [])
    if not kanji[0] and not kanji[1]:
        raise ResourceError("新しい患者の Patient に氏名 (name) がないため登録できません")

    return {
        "patient_key": "F-" + hashlib.sha256(import_key.encode("utf-8")).hexdigest()[:24],
        "family_name": kanji[0],
        "given_name": kanji[1],
        "family_kana": kana[0],
        "given_kana": kana[1],
        "birth_date": _fhir_date(patient["birthDate"], "Patient.birthDate"),
        "sex": {"male": "1", "female": "2", "other": "9"}.get(patient.get("gender", ""), "9"),
        "address": _address(patient),
    }


def _names(names: list[dict[str, Any]]) -> tuple[tuple[str, str], tuple[str, str]]:
    """Return (family, given) in kanji and in kana; JP Core marks kana names with representation SYL."""
    kanji, kana = ("", ""), ("", "")
    for name in names:
        parts = (normalised(name.get("family")), normalised(" ".join(name.get("given") or [])))
        representation = {ext.get("valueCode") for ext in name.get("extension") or [] if ext.get("url") == NAME_REPRESENTATION_URL}
        if "SYL" in representation:
            kana = parts
        elif not any(kanji):
            kanji = parts

    return kanji, kana


def _address(patient: dict[str, Any]) -> str:
    for address in patient.get("address") or []:
        if address.get("text"):
            return normalised(address["text"])

    return ""


def _medication_values(resource: dict[str, Any], context: BundleContext) -> dict[str, Any]:
    concept = _medication_concept(resource, context)
    codings = concept.get("coding") or []
    yj_code = next((c.get("code", "") for c in codings if c.get("system") == YJ_CODE_SYSTEM), "")
    name = normalised(concept.get("text")) or next((normalised(c.get("display")) for c in codings if c.get("display")), "")
    if not name:
        raise ResourceError("薬剤名がありません (medication の text も display もありません)")

    dosage = (resource.get("dosageInstruction") or resource.get("dosage") or [{}])[0]
    drug = db.session.get(Drug, yj_code) if len(yj_code) == 12 else None
    return {
        "drug_code": yj_code if len(yj_code) == 12 else "",
        "drug_name": name,
        "ingredient": drug.ingredient if drug is not None else name,
        "dispensed_on": _medication_date(resource),
        "days": _supply_days(resource, dosage),
        "dose": normalised(dosage.get("text")),
        "hospital_name": "",
        "source": "fhir",
        "route": _route(dosage),
    }


def _medication_concept(resource: dict[str, Any], context: BundleContext) -> dict[str, Any]:
    if resource.get("medicationCodeableConcept"):
        return resource["medicationCodeableConcept"]

    reference = (resource.get("medicationReference") or {}).get("reference", "")
    medication = context.resolve(reference)
    if medication is None and reference.startswith("#"):
        medication = next((item for item in resource.get("contained") or [] if item.get("id") == reference[1:]), None)

    if medication is None or not medication.get("code"):
        raise ResourceError(f"参照先の薬剤 {reference} がファイルの中にないか、code がありません")

    return medication["code"]


def _medication_date(resource: dict[str, Any]) -> date:
    text = (
        resource.get("authoredOn")
        or resource.get("effectiveDateTime")
        or (resource.get("effectivePeriod") or {}).get("start")
        or resource.get("dateAsserted")
    )
    if not text:
        raise ResourceError("処方日または服用開始日 (authoredOn, effective[x]) がありません")

    return _fhir_date(text, "日付")


def _supply_days(resource: dict[str, Any], dosage: dict[str, Any]) -> int:
    """Days' supply from dispenseRequest or the dosage's boundsDuration; 0 when unknown (the checks then assume 14)."""
    candidates = [
        (resource.get("dispenseRequest") or {}).get("expectedSupplyDuration"),
        ((dosage.get("timing") or {}).get("repeat") or {}).get("boundsDuration"),
    ]
    for duration in candidates:
        if duration and duration.get("code", duration.get("unit")) in ("d", "日") and duration.get("value") is not None:
            return max(int(duration["value"]), 0)

    return 0


def _route(dosage: dict[str, Any]) -> str:
    route = dosage.get("route") or {}
    route_codes = {coding.get("code") for coding in route.get("coding") or []}
    if "PO" in route_codes:
        return "内服"

    words = " ".join(
        [route.get("text") or "", dosage.get("text") or ""]
        + [coding.get("display") or "" for coding in route.get("coding") or []]
        + [coding.get("display") or "" for coding in ((dosage.get("timing") or {}).get("code") or {}).get("coding") or []]
    ).lower()
    if any(word in words for word in INJECTION_ROUTE_WORDS):
        return "注射"

    if any(word in words for word in EXTERNAL_ROUTE_WORDS):
        return "外用"

    return "内服"


def _clinical_values(resource: dict[str, Any]) -> dict[str, Any]:
    resource_type = resource["resourceType"]
    concept = resource["code"]
    codings = concept.get("coding") or []
    name = normalised(concept.get("text")) or next((normalised(c.get("display")) for c in codings if c.get("display")), "")
    if not name:
        raise ResourceError(f"{resource_type}.code に名称 (text, display) がありません")

    if resource_type == "Condition":
        category, detail = "condition", codings[0].get("code") if codings else None
        when = resource.get("onsetDateTime") or resource.get("recordedDate")
    elif resource_type == "AllergyIntolerance":
        category, detail = "allergy", _reaction(resource)
        when = resource.get("onsetDateTime") or resource.get("recordedDate")
    else:
        category, detail = _procedure_category(resource), None
        when = resource.get("performedDateTime") or (resource.get("performedPeriod") or {}).get("start")

    return {
        "category": category,
        "name": name,
        "recorded_on": _fhir_date(when, "日付") if when else None,
        "detail": normalised(detail) or None,
    }


def _reaction(resource: dict[str, Any]) -> str | None:
    for reaction in resource.get("reaction") or []:
        for manifestation in reaction.get("manifestation") or []:
            text = manifestation.get("text") or next((c.get("display") for c in manifestation.get("coding") or []), None)
            if text:
                return text

    return None


def _procedure_category(resource: dict[str, Any]) -> str:
    codes = {coding.get("code") for coding in (resource.get("category") or {}).get("coding") or []}
    return "surgery" if SURGICAL_PROCEDURE_CODE in codes else "procedure"


def _fhir_date(text: str, label: str) -> date:
    """Read a FHIR date or dateTime; a partial date (2015-03, 2015) means its first day."""
    match = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", text)
    if match is None:
        raise ResourceError(f"{label} {text!r} が FHIR の日付ではありません")

    try:
        return date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
    except ValueError:
        raise ResourceError(f"{label} {text!r} が存在しない日付です") from None


def _import_key(resource: dict[str, Any], values: dict[str, Any]) -> str:
    # The JP-CLINS examples reuse one identifier for different resources, so the key
    # adds the record's name and date: the same resource imported again matches it,
    # and two different records sharing an identifier stay two rows.
    identifiers = resource.get("identifier") or []
    if isinstance(identifiers, dict):
        identifiers = [identifiers]

    identity = [f"{item.get('system', '')}|{item.get('value', '')}" for item in identifiers if isinstance(item, dict)]
    content = [
        values["patient_id"],
        resource["resourceType"],
        identity or resource.get("id", ""),
        values.get("drug_name") or values.get("name"),
        str(values.get("dispensed_on") or values.get("recorded_on")),
    ]
    digest = hashlib.sha256(json.dumps(content, ensure_ascii=False).encode("utf-8")).hexdigest()
    return f"fhir:{digest[:48]}"
