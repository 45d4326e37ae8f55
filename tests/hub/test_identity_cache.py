"""The verification cache of card certificates: scoped per trust store, bounded by validity."""

from __future__ import annotations

import pytest

from hub import identity
from hub.problems import ApiProblem
from mynacard import devpki


def test_cache_scoped_to_trust_folder(pki, issued_card, tmp_path):
    identity.clear_verification_cache()
    identity.verify_card(issued_card.certificate_der, str(pki.trust_dir))
    other = devpki.ensure_root(tmp_path / "other-pki")

    with pytest.raises(ApiProblem) as problem:
        identity.verify_card(issued_card.certificate_der, str(other.trust_dir))

    assert problem.value.code == "unknown_card"


def test_cache_entry_ends_with_certificate(pki, issued_card):
    identity.clear_verification_cache()
    info = identity.verify_card(issued_card.certificate_der, str(pki.trust_dir))
    key = next(iter(identity._verified))

    assert identity._verified[key].usable_until <= info.not_after


def test_expired_entry_verifies_again(pki, issued_card, monkeypatch):
    identity.clear_verification_cache()
    identity.verify_card(issued_card.certificate_der, str(pki.trust_dir))
    key = next(iter(identity._verified))
    entry = identity._verified[key]
    identity._verified[key] = identity._VerifiedEntry(entry.info, entry.info.not_before)
    calls = []
    monkeypatch.setattr(identity, "_verify_uncached", lambda *args: calls.append(args) or entry.info)

    identity.verify_card(issued_card.certificate_der, str(pki.trust_dir))

    assert len(calls) == 1
