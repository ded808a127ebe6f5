"""Google Sheets for carsbot through gspread-asyncio (seed 004 "Синхронизация с Google Sheets").

gspread-asyncio runs gspread's blocking calls in threads and, by default, retries 429 and 5xx forever at a
fixed 1.1 s pace, process-local. adolfd replaces that one loop (`SheetsManager._call`) with:

- a slot from the shared Redis rate limiter before every call (`google_sheets:<service account>:read|write`,
  Google's per-user per-minute quotas), so every process and host together stay within them;
- a bounded retry: `http.attempts` tries with doubling `http.backoff`, a 429 also pushes the shared limiter
  back by the server's wait; then the platform's errors: `RateLimited` (429), `Unavailable` (5xx, network,
  token endpoint unreachable), `AuthError` (401/403, a refused service-account grant), `Rejected` (other 4xx),
  `BadResponse` (at once: a body that is not JSON, or not the object Google answers — a "cleared" that is not
  one must not pass for one, or the tab would keep its old rows under the new ones).

gspread's URLs are Google's own; `RebasedSession` (the `requests` session gspread is handed) sends them to
`carsbot.sheets_url` instead, which is how tests and the demo reach the sandbox with no network. The service
account key comes from settings (`carsbot.service_account_json`, a systemd credential); its `token_uri` says
where tokens are fetched. No log line or error carries the key or a token.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import gspread
import gspread_asyncio
import requests
from google.auth import exceptions as google_errors
from google.auth.transport.requests import AuthorizedSession
from google.oauth2.service_account import Credentials

from adolfd.clients.errors import ApiError, AuthError, BadResponse, RateLimited, Rejected, Unavailable
from adolfd.clients.ratelimit import RateLimiter
from adolfd.settings import CarsbotSettings, HttpSettings, RateLimit

API = "google_sheets"
GOOGLE_SHEETS = "https://sheets.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
_READS = frozenset({"open_by_key", "fetch_sheet_metadata", "values_get", "values_batch_get", "get_all_values"})


class RebasedSession(AuthorizedSession):
    """gspread's requests session, with Google's Sheets base URL swapped for the configured one."""

    def __init__(self, credentials: Credentials, base_url: str) -> None:
        super().__init__(credentials)
        self._base = base_url.rstrip("/")

    # google-auth's unannotated AuthorizedSession.request already differs from the requests stubs' Session.request
    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if url.startswith(GOOGLE_SHEETS):
            url = self._base + url[len(GOOGLE_SHEETS):]
        return super().request(method, url, *args, **kwargs)


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None


class SheetsManager(gspread_asyncio.AsyncioGspreadClientManager):
    """gspread-asyncio's manager with the shared limiter, a bounded retry and adolfd's errors (module doc)."""

    auth_time: float | None          # set by the base class's __init__ (gspread_asyncio ships no type information)

    def __init__(self, credentials_fn: Callable[[], Credentials], *, base_url: str, limiter: RateLimiter,
                 limits: Callable[[str], RateLimit], http: HttpSettings, account: str,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        super().__init__(credentials_fn, gspread_delay=0.0, gspread_timeout=http.timeout)
        self._base_url = base_url
        self._limiter = limiter
        self._limits = limits
        self._http = http
        self._account = account
        self._sleep = sleep

    async def _authorize(self) -> gspread_asyncio.AsyncioGspreadClient:
        if self.auth_time is None:
            creds = await asyncio.to_thread(self.credentials_fn)
            client = gspread.Client(auth=creds, session=RebasedSession(creds, self._base_url))
            client.set_timeout(self.gspread_timeout)
            self.auth_time = 0.0
            self._client_cache[0.0] = gspread_asyncio.AsyncioGspreadClient(self, client)
        return self._client_cache[0.0]

    async def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("api_call_count", None)
        kind = "read" if method.__name__ in _READS else "write"
        key = f"{API}:{self._account}:{kind}"
        error: ApiError = Unavailable("no attempt made", api=API)
        for attempt in range(1, self._http.attempts + 1):
            await self._limiter.acquire(key, self._limits(kind))
            wait = self._http.backoff * 2 ** (attempt - 1)
            try:
                return await asyncio.to_thread(method, *args, **kwargs)
            except gspread.exceptions.APIError as exc:
                status = exc.response.status_code
                message = f"{method.__name__}: HTTP {status}: {exc.error.get('message', '')}"[:300]
                if status == 429:
                    asked = _retry_after(exc.response)
                    wait = max(wait, asked or 0.0)
                    await self._limiter.penalise(key, wait, self._limits(kind))
                    error = RateLimited(message, api=API, status=status, retry_after=asked)
                elif status >= 500:
                    error = Unavailable(message, api=API, status=status)
                elif status in (401, 403):
                    raise AuthError(message, api=API, status=status) from None
                else:
                    raise Rejected(message, api=API, status=status) from None
            except requests.JSONDecodeError:
                raise BadResponse(f"{method.__name__}: the answer is not JSON", api=API) from None
            except google_errors.RefreshError as exc:
                raise AuthError(f"the service-account token was refused: {type(exc).__name__}", api=API) from None
            except (google_errors.TransportError, requests.RequestException) as exc:
                error = Unavailable(f"{method.__name__}: {type(exc).__name__}", api=API)
            if attempt < self._http.attempts:
                await self._sleep(wait)
        raise error


def service_account_credentials(settings: CarsbotSettings) -> Credentials:
    raw = settings.service_account_json.get_secret_value()
    if not raw:
        raise AuthError("no Google service account configured (ADOLFD_CARSBOT__SERVICE_ACCOUNT_JSON "
                        "or its credential file)", api=API)
    try:
        return Credentials.from_service_account_info(json.loads(raw), scopes=list(SCOPES))
    except (ValueError, KeyError) as exc:
        raise AuthError(f"the Google service account key is not a valid key file: {type(exc).__name__}",
                        api=API) from None


class SheetsClient:
    """The operator's spreadsheet: whole tabs read as rows of strings, the analytics tab rewritten whole."""

    def __init__(self, settings: CarsbotSettings, manager: SheetsManager) -> None:
        self.settings = settings
        self.manager = manager

    async def close(self) -> None:
        """gspread's requests session (a connection pool of its own) is closed with the process's resources."""
        for client in self.manager._client_cache.values():
            await asyncio.to_thread(client.gc.http_client.session.close)
        self.manager._client_cache.clear()

    @classmethod
    def build(cls, settings: CarsbotSettings, http: HttpSettings, limiter: RateLimiter,
              limits: Callable[[str], RateLimit], **kw: Any) -> SheetsClient:
        account = "default"
        raw = settings.service_account_json.get_secret_value()
        if raw:
            try:
                account = json.loads(raw).get("client_email") or account
            except ValueError:
                pass
        manager = SheetsManager(lambda: service_account_credentials(settings), base_url=settings.sheets_url,
                                limiter=limiter, limits=limits, http=http, account=account, **kw)
        return cls(settings, manager)

    async def _spreadsheet(self) -> gspread_asyncio.AsyncioGspreadSpreadsheet:
        if not self.settings.spreadsheet_id:
            raise Rejected("no carsbot spreadsheet configured (ADOLFD_CARSBOT__SPREADSHEET_ID)", api=API)
        client = await self.manager.authorize()
        return await client.open_by_key(self.settings.spreadsheet_id)

    async def read_tab(self, title: str) -> list[list[str]]:
        sheet = await self._spreadsheet()
        answer = _answer("values_get", await sheet.values_get(_quoted(title)), "range")
        values = answer.get("values", [])
        if not isinstance(values, list) or not all(isinstance(row, list) for row in values):
            raise BadResponse("values_get: `values` is not a list of rows", api=API)
        return [[str(cell) for cell in row] for row in values]

    async def write_tab(self, title: str, rows: list[list[Any]]) -> int:
        """Replace the tab's content; returns the cells written. Running it twice leaves the same tab."""
        sheet = await self._spreadsheet()
        _answer("values_clear", await sheet.values_clear(_quoted(title)), "clearedRange")
        answer = _answer("values_update", await sheet.values_update(
            f"{_quoted(title)}!A1", params={"valueInputOption": "RAW"}, body={"values": rows}), "updatedRange")
        return int(answer.get("updatedCells", 0))


def _answer(method: str, answer: Any, field: str) -> dict[str, Any]:
    """Google's answer object, which always names the range it read, cleared or updated."""
    if not isinstance(answer, dict) or field not in answer:
        raise BadResponse(f"{method}: not the answer Google gives (no `{field}`)", api=API)
    return answer


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"
