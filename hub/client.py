"""HTTP client for the hub API, used by the field unit and the hospital portal.

Every failure becomes a :class:`HubError`. The hub's own problem+json responses
keep their Japanese ``detail``, so the apps can show it to the user as it is.
Network failures become :class:`HubUnreachableError`.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from hub.contract import (
    API_PREFIX,
    Challenge,
    HospitalInfo,
    IncidentReport,
    Summary,
    SummaryRequest,
    TransferOutcome,
    TransferPacket,
    TransferView,
)

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0


class HubError(Exception):
    """Error response from the hub, or a hub that could not be reached.

    :ivar status: HTTP status, or 0 when no response came back
    :ivar code: the problem type's short name (``unknown_card``, ...)
    :ivar user_message: Japanese text to show to the user
    """

    def __init__(self, status: int, code: str, user_message: str) -> None:
        super().__init__(f"hub error {status} {code}: {user_message}")
        self.status = status
        self.code = code
        self.user_message = user_message


class HubUnreachableError(HubError):
    """No HTTP response: connection refused, timed out or dropped."""

    def __init__(self, reason: str) -> None:
        super().__init__(0, "unreachable", "ハブに接続できません。通信状態を確認してください。")
        self.reason = reason


class HubClient:
    """A thin, typed wrapper over the hub's JSON API.

    :param base_url: the hub's root URL, e.g. ``http://127.0.0.1:8710``
    :param token: the bearer token of this device or hospital system
    """

    def __init__(self, base_url: str, token: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"

    def create_challenge(self) -> Challenge:
        return Challenge.from_dict(self._call("POST", "/challenges"))

    def request_summary(self, request: SummaryRequest) -> Summary:
        data = self._call("POST", "/summaries", json=request.to_dict())
        return Summary.from_dict(data)

    def list_hospitals(self) -> list[HospitalInfo]:
        data = self._call("GET", "/hospitals")
        return [HospitalInfo.from_dict(item) for item in data["hospitals"]]

    def send_transfer(self, packet: TransferPacket) -> list[TransferView]:
        data = self._call("POST", "/transfers", json=packet.to_dict())
        return [TransferView.from_dict(item) for item in data["transfers"]]

    def sent_transfers(self, incident_id: str | None = None) -> list[TransferView]:
        params = {"incident_id": incident_id} if incident_id else None
        data = self._call("GET", "/transfers/sent", params=params)
        return [TransferView.from_dict(item) for item in data["transfers"]]

    def send_incident_report(self, report: IncidentReport) -> None:
        self._call("POST", "/incident-reports", json=report.to_dict())

    def record_outcome(self, transfer_id: str, outcome: TransferOutcome) -> TransferView:
        data = self._call("POST", f"/transfers/{transfer_id}/outcome", json=outcome.to_dict())
        return TransferView.from_dict(data)

    def inbox(self) -> list[TransferView]:
        data = self._call("GET", "/transfers")
        return [TransferView.from_dict(item) for item in data["transfers"]]

    def update_transfer_status(self, transfer_id: str, status: str, reason: str | None = None) -> TransferView:
        body = {"status": status, "reason": reason}
        data = self._call("POST", f"/transfers/{transfer_id}/status", json=body)
        return TransferView.from_dict(data)

    def transfer_fhir(self, transfer_id: str) -> dict[str, Any]:
        """Fetch the FHIR document Bundle of one transfer addressed to this hospital."""
        return self._call("GET", f"/transfers/{transfer_id}/fhir")

    def _call(
        self, method: str, path: str, json: dict[str, Any] | None = None, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        url = f"{self.base_url}{API_PREFIX}{path}"
        logger.debug("calling hub %s %s", method, path)

        try:
            response = self._session.request(method, url, json=json, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise HubUnreachableError(type(exc).__name__) from exc

        if response.status_code >= 400:
            raise _error_from_response(response)

        return response.json()


def _error_from_response(response: requests.Response) -> HubError:
    try:
        problem = response.json()
    except ValueError:
        problem = {}

    code = str(problem.get("code") or "http_error")
    message = str(problem.get("detail") or f"ハブがエラーを返しました (HTTP {response.status_code})。")
    return HubError(response.status_code, code, message)
