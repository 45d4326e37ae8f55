"""Errors the hub API responds with, as application/problem+json (RFC 9457).

Each problem has a short English ``code`` for programs and a Japanese
``detail`` that the apps show to their users unchanged.
"""

from __future__ import annotations

from flask import Response, jsonify


class ApiProblem(Exception):
    """Raised by a view or service and turned into a problem+json response in one place."""

    def __init__(self, status: int, code: str, detail: str, title: str | None = None) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or code.replace("_", " ")
        self.extra: dict[str, object] = {}

    def to_response(self) -> Response:
        body = {
            "type": f"https://myna-kyukyu.example/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
            **self.extra,
        }
        response = jsonify(body)
        response.status_code = self.status
        response.mimetype = "application/problem+json"
        return response


def unauthorized() -> ApiProblem:
    return ApiProblem(401, "unauthorized", "認証に失敗しました。端末の登録を確認してください。")


def forbidden() -> ApiProblem:
    return ApiProblem(403, "forbidden", "この操作を行う権限がありません。")


def bad_request(reason: str) -> ApiProblem:
    return ApiProblem(400, "invalid_request", f"送信内容に誤りがあります: {reason}")


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, "not_found", f"{what}が見つかりません。")
