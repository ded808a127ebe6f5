"""Wildberries feedbacks and questions (`https://feedbacks-api.wildberries.ru`; seed 003 §7.3, docs/external-apis.md
"Wildberries — feedbacks and questions").

- list: `GET /api/v1/feedbacks` / `GET /api/v1/questions` with `isAnswered=false`, `order=dateAsc`, `dateFrom`
  (Unix seconds), paged by take/skip (feedbacks take ≤ 5000, skip ≤ 199990; questions take + skip ≤ 10000)
- reply: `POST /api/v1/feedbacks/answer {id, text}` → 204; `PATCH /api/v1/questions {id, answer: {text}, state: "wbRu"}`
- look before publishing: `GET /api/v1/feedback?id=` / `GET /api/v1/question?id=` → `data.answer`

One limit for the whole category per seller account: 3 requests/s, burst 6 (`wb_feedbacks:default`).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from adolfd.clients.errors import BadResponse, Rejected
from adolfd.clients.feedback import FetchedItem, FetchResult, collect_entries
from adolfd.clients.http import ApiClient
from adolfd.domain.reputation.replies import SellerAnswer
from adolfd.domain.reputation.review_analysis import FeedbackItem, ItemType

if TYPE_CHECKING:
    from adolfd.engine.context import Resources

MAX_TAKE = {ItemType.REVIEW: 5000, ItemType.QUESTION: 10000}
MAX_WINDOW = {ItemType.REVIEW: 199990 + 5000, ItemType.QUESTION: 10000}   # skip + take
PATHS = {ItemType.REVIEW: "/api/v1/feedbacks", ItemType.QUESTION: "/api/v1/questions"}
ONE = {ItemType.REVIEW: "/api/v1/feedback", ItemType.QUESTION: "/api/v1/question"}
LIST_KEY = {ItemType.REVIEW: "feedbacks", ItemType.QUESTION: "questions"}


class WbEnvelope(BaseModel):
    data: Any = None
    error: bool = False
    errorText: str = ""


class WbProduct(BaseModel):
    nmId: int
    productName: str = ""
    supplierArticle: str | None = None
    brandName: str | None = None


class WbAnswer(BaseModel):
    text: str = ""


class WbFeedback(BaseModel):
    id: str = Field(min_length=1)
    text: str | None = ""
    pros: str | None = ""
    cons: str | None = ""
    productValuation: int = Field(ge=1, le=5)
    createdDate: datetime
    answer: WbAnswer | None = None
    productDetails: WbProduct
    userName: str | None = ""


class WbQuestion(BaseModel):
    id: str = Field(min_length=1)
    text: str = ""
    createdDate: datetime
    answer: WbAnswer | None = None
    productDetails: WbProduct


class WbListData(BaseModel):
    feedbacks: list[Any] | None = None
    questions: list[Any] | None = None


class WbFeedbacksClient(ApiClient):
    api = "wb_feedbacks"
    platform = "wb"

    def __init__(self, *args: Any, brand: str, token: str, page_size: int = 1000, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.brand = brand
        self._token = token
        self.page_size = page_size

    @classmethod
    def for_brand(cls, res: Resources, brand: str) -> WbFeedbacksClient:
        creds = res.settings.account("wb", brand)
        return cls(res.http_for(cls.api), res.limiter, account=brand, brand=brand,
                   token=creds.token.get_secret_value(), page_size=res.settings.reputation.page_size,
                   limits=lambda ec: res.settings.rate_limit(cls.api, ec), settings=res.settings.http)

    async def auth_headers(self) -> dict[str, str]:
        return {"Authorization": self._token}

    def _data(self, body: Any, what: str) -> Any:
        envelope = self.parse(WbEnvelope, body, what=what)
        if envelope.error:
            raise Rejected(f"{what}: {envelope.errorText or 'error without text'}", api=self.api)
        return envelope.data

    async def unanswered(self, item_type: ItemType, since: datetime) -> FetchResult:
        take = min(self.page_size, MAX_TAKE[item_type])
        result = FetchResult()
        skip = 0
        budget = self.page_budget("feedback list")
        while True:
            budget.turn()
            body = await self.request_json("GET", PATHS[item_type], params={
                "isAnswered": "false", "take": take, "skip": skip, "order": "dateAsc",
                "dateFrom": int(since.timestamp()),
            })
            what = f"{LIST_KEY[item_type]} list"
            data = self.parse(WbListData, self._data(body, what), what=what)
            entries = getattr(data, LIST_KEY[item_type])
            if entries is None:
                raise self._shape_error(what, f"data.{LIST_KEY[item_type]} is missing")
            result.pages += 1
            if item_type is ItemType.REVIEW:
                collect_entries(result, entries, WbFeedback, self._feedback, id_field="id", time_field="createdDate")
            else:
                collect_entries(result, entries, WbQuestion, self._question, id_field="id", time_field="createdDate")
            skip += len(entries)
            if len(entries) < take or skip + take > MAX_WINDOW[item_type]:
                return result

    def _feedback(self, fb: WbFeedback, raw: dict[str, Any]) -> FetchedItem | None:
        if fb.answer is not None and fb.answer.text:
            return None
        item = FeedbackItem(
            platform="wb", item_type=ItemType.REVIEW, external_id=fb.id, text=fb.text or "", rating=fb.productValuation,
            pros=fb.pros or "", cons=fb.cons or "", author=fb.userName or "",
            product_name=fb.productDetails.productName, brand_id=self.brand,
        )
        return FetchedItem(item, fb.createdDate, str(fb.productDetails.nmId), raw)

    def _question(self, q: WbQuestion, raw: dict[str, Any]) -> FetchedItem | None:
        if q.answer is not None and q.answer.text:
            return None
        item = FeedbackItem(
            platform="wb", item_type=ItemType.QUESTION, external_id=q.id, text=q.text,
            product_name=q.productDetails.productName, brand_id=self.brand,
        )
        return FetchedItem(item, q.createdDate, str(q.productDetails.nmId), raw)

    async def seller_answers(self, item_type: ItemType, external_id: str, sku: str = "") -> list[SellerAnswer]:
        body = await self.request_json("GET", ONE[item_type], params={"id": external_id})
        data = self._data(body, f"{item_type} {external_id}")
        if not isinstance(data, dict):
            raise self._shape_error(f"{item_type} {external_id}", "data is not an object")
        answer = data.get("answer")
        if isinstance(answer, dict) and answer.get("text"):
            return [SellerAnswer(text=str(answer["text"]))]
        return []

    async def publish(self, item_type: ItemType, external_id: str, sku: str, text: str) -> str:
        """A review answer is 204 without a body; a question answer is the envelope with `error: false`. Anything
        else is a `BadResponse`: whether WB kept the answer is unknown (send_response reads it back)."""
        what = f"answer to {item_type} {external_id}"
        if item_type is ItemType.REVIEW:
            response = await self.request("POST", "/api/v1/feedbacks/answer", idempotent=False, ok=(200, 204),
                                          json_body={"id": external_id, "text": text})
            if response.status_code == 204 or not response.content:
                return ""
            body = self.decode(response)
        else:
            body = await self.request_json("PATCH", "/api/v1/questions", idempotent=False, json_body={
                "id": external_id, "answer": {"text": text}, "state": "wbRu"})
        if not isinstance(body, dict) or "error" not in body:
            raise self._shape_error(what, "the envelope {data, error, errorText} is missing")
        self._data(body, what)
        return ""

    def _shape_error(self, what: str, detail: str) -> BadResponse:
        return BadResponse(f"unexpected {what} shape: {detail}", api=self.api)
