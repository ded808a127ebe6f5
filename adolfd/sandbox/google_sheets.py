"""Fake Google OAuth token endpoint and Sheets API v4 values, under `/google-sheets` (docs/carsbot.md "Sheets").

What carsbot's gspread client calls, with Google's real paths, bodies and errors:

- `POST /google-sheets/token`: the service-account grant (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`,
  `assertion=<RS256 JWT>`). The JWT's signature is checked against the sandbox service account's key, `iss`
  must be its e-mail; the answer is `{"access_token", "expires_in": 3599, "token_type": "Bearer"}`, a bad grant
  `400 {"error": "invalid_grant", "error_description"}`.
- `GET /v4/spreadsheets/{id}`: metadata (`spreadsheetId`, `properties.title`, `sheets[].properties`).
- `GET /v4/spreadsheets/{id}/values/{range}`: `{"range", "majorDimension": "ROWS", "values"}`, trailing empty
  cells and rows left out as Google does.
- `PUT /v4/spreadsheets/{id}/values/{range}?valueInputOption=RAW|USER_ENTERED` and
  `POST /v4/spreadsheets/{id}/values/{range}:clear`: writes, counted under `sheets_writes` / `<id>:<tab>`.
- Every Sheets call needs `Authorization: Bearer <issued token>` (else 401 UNAUTHENTICATED). Quotas per user and
  minute as Google publishes them (60 reads, 60 writes): over it → `429 RESOURCE_EXHAUSTED` with Google's
  message. Injected 5xx answer Google's `{"error": {"code", "message", "status"}}`.

Test side: `set_tab(sandbox, spreadsheet_id, title, rows)`, `tab_values(...)`, and `POST /google-sheets/_sandbox/tabs`
(`{"spreadsheet_id", "title", "values"}`) for the demo. `service_account_info(token_uri)` is the JSON key file of
the sandbox's service account.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from adolfd.sandbox.core import ApiError, Auth, Caller, Handler, RateLimit, Sandbox, bearer_token, endpoint, token_gate

API = "google-sheets"
SERVICE_EMAIL = "adolfd-carsbot@adolfd-sandbox.iam.gserviceaccount.com"
SPREADSHEET_ID = "1CarsbotSandboxSpreadsheet0000000000000000"
READ, WRITE = "read", "write"
PER_MINUTE = 60                       # "Read/Write requests per minute per user per project"
_STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE",
                 504: "DEADLINE_EXCEEDED"}


def google_error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "UNKNOWN")}}


@lru_cache(maxsize=1)
def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_info(token_uri: str) -> dict[str, str]:
    """The sandbox service account's key file (what Google Cloud console downloads)."""
    pem = _key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "adolfd-sandbox", "private_key_id": "sandbox-key-1",
            "private_key": pem, "client_email": SERVICE_EMAIL, "client_id": "100000000000000000001",
            "token_uri": token_uri}


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _check_assertion(assertion: str) -> dict[str, Any]:
    try:
        header, payload, signature = assertion.split(".")
        _key().public_key().verify(_b64(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(),
                                   hashes.SHA256())
        claims = json.loads(_b64(payload))
    except (ValueError, InvalidSignature) as exc:
        raise ValueError("Invalid JWT Signature.") from exc
    if claims.get("iss") != SERVICE_EMAIL:
        raise ValueError("Invalid JWT: iss is not a known service account.")
    return claims


# -- state -------------------------------------------------------------------------------------------------

def _books(sandbox: Sandbox) -> dict[str, dict[str, list[list[str]]]]:
    return sandbox.state(API).setdefault("spreadsheets", {})


def set_tab(sandbox: Sandbox, spreadsheet_id: str, title: str, rows: list[list[Any]]) -> None:
    """The operator edits a tab: its whole content becomes `rows` (cells as the sheet shows them)."""
    _books(sandbox).setdefault(spreadsheet_id, {})[title] = [[str(c) for c in row] for row in rows]


def tab_values(sandbox: Sandbox, spreadsheet_id: str, title: str) -> list[list[str]]:
    return [list(r) for r in _books(sandbox).get(spreadsheet_id, {}).get(title, [])]


def _trimmed(rows: list[list[str]]) -> list[list[str]]:
    out = [list(r) for r in rows]
    for row in out:
        while row and row[-1] == "":
            row.pop()
    while out and not out[-1]:
        out.pop()
    return out


_A1 = re.compile(r"^(?:'((?:[^']|'')+)'|([^!]+?))(?:!([A-Z]+)?(\d+)?(?::([A-Z]+)?(\d+)?)?)?$")


def _col(letters: str | None, default: int) -> int:
    if not letters:
        return default
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _parse_range(text: str) -> tuple[str, int, int]:
    """'Tab'!B2:D → (tab, first row index, first column index); the range's end is not needed here."""
    m = _A1.match(text)
    if m is None:
        raise ValueError(f"Unable to parse range: {text}")
    title = (m.group(1) or "").replace("''", "'") or (m.group(2) or "")
    return title, int(m.group(4) or 1) - 1, _col(m.group(3), 0)


# -- HTTP --------------------------------------------------------------------------------------------------

def _oauth_error(error: str, description: str) -> ApiError:
    """The token endpoint speaks OAuth 2.0 (RFC 6749 §5.2), not the Sheets error body."""
    return ApiError(400, description, body={"error": error, "error_description": description})


async def jwt_grant(request: web.Request) -> Caller:
    """`POST /token`: the service account's signed JWT; the account is the service account's e-mail."""
    form = await request.post()
    if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
        raise _oauth_error("unsupported_grant_type", "Invalid grant_type")
    try:
        claims = _check_assertion(str(form.get("assertion", "")))
    except ValueError as exc:
        raise _oauth_error("invalid_grant", str(exc)) from None
    return Caller(account=str(claims["iss"]))


def access_token(sandbox: Sandbox) -> Auth:
    """Every Sheets call: `Authorization: Bearer <a token the sandbox issued>`."""
    async def authenticate(request: web.Request) -> Caller:
        if bearer_token(request) not in sandbox.state(API).get("tokens", set()):
            raise ApiError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                                "login cookie or other valid authentication credential.")
        return Caller(account=SERVICE_EMAIL)
    return authenticate


def quota(sandbox: Sandbox, kind: str) -> RateLimit:
    """Read or write requests per minute per user: 429 RESOURCE_EXHAUSTED with Google's message."""
    metric = "Read requests" if kind == READ else "Write requests"
    message = (f"Quota exceeded for quota metric '{metric}' and limit '{metric} per minute per user' of service "
               "'sheets.googleapis.com' for consumer 'project_number:100000000001'.")
    return token_gate(sandbox, API, kind, refuse=lambda _cls, _wait: ApiError(429, message))


def _book(sandbox: Sandbox, request: web.Request) -> tuple[str, dict[str, list[list[str]]]]:
    """The addressed spreadsheet, or Google's 404."""
    sid = request.match_info["spreadsheet_id"]
    book = _books(sandbox).get(sid)
    if book is None:
        raise ApiError(404, "Requested entity was not found.")
    return sid, book


def _handlers(sandbox: Sandbox) -> web.RouteTableDef:
    routes = web.RouteTableDef()

    def sheets(kind: str) -> Callable[[Handler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
        def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
            return endpoint(sandbox, API, handler, limit=quota(sandbox, kind))
        return wrap

    async def _token(request: web.Request, caller: Caller) -> web.Response:
        issued = "ya29.sandbox-" + secrets.token_urlsafe(24)
        sandbox.state(API).setdefault("tokens", set()).add(issued)
        sandbox.count("oauth_tokens", API)
        return web.json_response({"access_token": issued, "expires_in": 3599, "token_type": "Bearer"})

    routes.post("/token")(endpoint(sandbox, API, _token, auth=jwt_grant))

    @routes.get("/v4/spreadsheets/{spreadsheet_id}")
    @sheets(READ)
    async def metadata(request: web.Request, caller: Caller) -> web.Response:
        sid, book = _book(sandbox, request)
        sheets_ = [{"properties": {"sheetId": i, "title": title, "index": i, "sheetType": "GRID",
                                   "gridProperties": {"rowCount": max(len(rows), 1000), "columnCount": 26}}}
                   for i, (title, rows) in enumerate(book.items())]
        return web.json_response({"spreadsheetId": sid, "properties": {"title": "carsbot", "locale": "ru_RU",
                                                                       "timeZone": "Etc/GMT"},
                                  "sheets": sheets_, "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{sid}"})

    @routes.get("/v4/spreadsheets/{spreadsheet_id}/values/{range}")
    @sheets(READ)
    async def values_get(request: web.Request, caller: Caller) -> web.Response:
        _, book = _book(sandbox, request)
        try:
            title, row0, col0 = _parse_range(request.match_info["range"])
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        if title not in book:
            raise ApiError(400, f"Unable to parse range: {request.match_info['range']}")
        values = _trimmed([r[col0:] for r in book[title][row0:]])
        body: dict[str, Any] = {"range": f"'{title}'!A1:Z{max(len(book[title]), 1000)}", "majorDimension": "ROWS"}
        if values:
            body["values"] = values
        return web.json_response(body)

    @routes.put("/v4/spreadsheets/{spreadsheet_id}/values/{range}")
    @sheets(WRITE)
    async def values_update(request: web.Request, caller: Caller) -> web.Response:
        sid, book = _book(sandbox, request)
        if request.query.get("valueInputOption") not in ("RAW", "USER_ENTERED"):
            raise ApiError(400, "'valueInputOption' is required but not specified")
        try:
            title, row0, col0 = _parse_range(request.match_info["range"])
            values = (await request.json())["values"]
            if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
                raise ValueError("Invalid values: expected a list of rows")
        except (ValueError, KeyError, TypeError) as exc:
            raise ApiError(400, f"Invalid JSON payload received. {exc}") from None
        rows = book.setdefault(title, [])
        for i, new in enumerate(values):
            while len(rows) <= row0 + i:
                rows.append([])
            row = rows[row0 + i]
            while len(row) < col0 + len(new):
                row.append("")
            row[col0:col0 + len(new)] = ["" if c is None else str(c) for c in new]
        sandbox.count("sheets_writes", f"{sid}:{title}")
        return web.json_response({"spreadsheetId": sid, "updatedRange": request.match_info["range"],
                                  "updatedRows": len(values), "updatedColumns": max(map(len, values), default=0),
                                  "updatedCells": sum(map(len, values))})

    @routes.post("/v4/spreadsheets/{spreadsheet_id}/values/{range}")
    @sheets(WRITE)
    async def values_clear(request: web.Request, caller: Caller) -> web.Response:
        sid, book = _book(sandbox, request)
        raw = request.match_info["range"]
        if not raw.endswith(":clear"):
            raise ApiError(404, "Method not found.")
        title = _parse_range(raw.removesuffix(":clear"))[0]
        book[title] = []
        sandbox.count("sheets_writes", f"{sid}:{title}")
        return web.json_response({"spreadsheetId": sid, "clearedRange": f"'{title}'!A1:Z1000"})

    @routes.post("/_sandbox/tabs")
    async def control_set_tab(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            set_tab(sandbox, str(body.get("spreadsheet_id") or SPREADSHEET_ID), str(body["title"]), body["values"])
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": f"give title and values (rows of cells): {exc}"}, status=400)
        return web.json_response({"ok": True})

    return routes


DEFAULT_TABS = {
    "Каналы": [["channel_id", "username", "title", "active"],
               ["-1001000000001", "@auto_msk_sale", "Авто Москва", "да"],
               ["-1001000000002", "@cars_spb_market", "Авто СПб", "да"]],
    "Подписчики": [["telegram_id", "username", "plan", "expires_at"],
                   ["700000001", "ivan_auto", "pro", "2030-12-31"]],
    "Аналитика": [],
}


def _seed(sandbox: Sandbox) -> None:
    """The demo's spreadsheet: two channels, one subscriber, an empty analytics tab."""
    for title, rows in DEFAULT_TABS.items():
        set_tab(sandbox, SPREADSHEET_ID, title, rows)


def install(sandbox: Sandbox) -> None:
    app = sandbox.subapp(API, error_body=google_error_body, auth=access_token(sandbox))
    _seed(sandbox)
    sandbox.on_reset(lambda: _seed(sandbox))
    sandbox.define_limit(API, READ, PER_MINUTE / 60, PER_MINUTE)
    sandbox.define_limit(API, WRITE, PER_MINUTE / 60, PER_MINUTE)
    app.add_routes(_handlers(sandbox))
