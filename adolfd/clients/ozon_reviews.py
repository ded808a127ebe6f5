"""Ozon Seller reviews and questions (`https://api-seller.ozon.ru`; seed 003 §7.3, docs/external-apis.md
"Ozon Seller API — reviews and questions"). Subscription-gated on Ozon's side (reviews: «Управление отзывами» or
Premium Pro; questions: Premium Plus); a 403 is an `AuthError`, never retried.

- reviews: `POST /v2/review/list` (limit 20..100, `last_id`/`has_next`, `filters.published_from`), unanswered =
  status NEW or VIEWED; reply `POST /v1/review/comment/create` with `mark_review_as_processed: true`;
  look before publishing: the seller's comments (`/v1/review/comment/list`, `is_owner`) and the review's status
  (`/v2/review/info`): PROCESSED counts as handled.
- questions: `POST /v1/question/list` (`filter.status=UNPROCESSED`, `filter.date_from`, `last_id`/`has_next`);
  answer `POST /v1/question/answer/create {question_id, sku, text}` (2..3000 characters); look before publishing:
  `/v1/question/answer/list`.

All calls share `ozon_seller:reviews` under the 50 rps per Client-Id of every Ozon method.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from adolfd.clients.feedback import FetchedItem, FetchResult, collect_entries
from adolfd.clients.http import ApiClient
from adolfd.domain.reputation.replies import SellerAnswer
from adolfd.domain.reputation.review_analysis import FeedbackItem, ItemType

if TYPE_CHECKING:
    from adolfd.engine.context import Resources

ENDPOINT_CLASS = "reviews"
UNANSWERED_REVIEW = ("NEW", "VIEWED")


class OzonReview(BaseModel):
    id: str = Field(min_length=1)
    sku: int
    text: str = ""
    rating: int = Field(ge=1, le=5)
    status: str
    published_at: datetime
    order_status: str | None = None


class OzonReviewPage(BaseModel):
    reviews: list[Any]
    has_next: bool = False
    last_id: str = ""


class OzonQuestion(BaseModel):
    id: str = Field(min_length=1)
    sku: int
    text: str = ""
    author_name: str = ""
    published_at: datetime
    status: str = ""


class OzonQuestionPage(BaseModel):
    questions: list[Any]
    has_next: bool | None = None
    last_id: str = ""


class OzonComment(BaseModel):
    id: str
    text: str = ""
    is_owner: bool = False
    parent_comment_id: str | None = None


class OzonCommentPage(BaseModel):
    comments: list[OzonComment] = []
    offset: int = 0


class OzonReviewInfo(BaseModel):
    id: str
    status: str


class OzonAnswer(BaseModel):
    id: str
    text: str = ""


class OzonCommentCreated(BaseModel):
    comment_id: str = Field(min_length=1)


class OzonAnswerCreated(BaseModel):
    answer_id: str = Field(min_length=1)


class OzonAnswerPage(BaseModel):
    answers: list[OzonAnswer] = []
    last_id: str = ""


class OzonReviewsClient(ApiClient):
    api = "ozon_seller"
    platform = "ozon"

    def __init__(self, *args: Any, brand: str, client_id: str, api_key: str, page_size: int = 100, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.brand = brand
        self._client_id = client_id
        self._api_key = api_key
        self.page_size = max(20, min(page_size, 100))

    @classmethod
    def for_brand(cls, res: Resources, brand: str) -> OzonReviewsClient:
        creds = res.settings.account("ozon_seller", brand)
        return cls(res.http_for(cls.api), res.limiter, account=creds.client_id or brand, brand=brand,
                   client_id=creds.client_id, api_key=creds.api_key.get_secret_value(),
                   page_size=res.settings.reputation.page_size,
                   limits=lambda ec: res.settings.rate_limit(cls.api, ec), settings=res.settings.http)

    async def auth_headers(self) -> dict[str, str]:
        return {"Client-Id": self._client_id, "Api-Key": self._api_key}

    async def _post(self, path: str, body: dict[str, Any], *, idempotent: bool = True) -> Any:
        return await self.request_json("POST", path, json_body=body, endpoint_class=ENDPOINT_CLASS,
                                       idempotent=idempotent)

    async def unanswered(self, item_type: ItemType, since: datetime) -> FetchResult:
        return await (self._reviews(since) if item_type is ItemType.REVIEW else self._questions(since))

    async def _reviews(self, since: datetime) -> FetchResult:
        result = FetchResult()
        last_id = ""
        budget = self.page_budget("review list")
        while True:
            budget.turn()
            body: dict[str, Any] = {"limit": self.page_size, "sort_dir": "ASC",
                                    "filters": {"status": "ALL", "published_from": _rfc3339(since)}}
            if last_id:
                body["last_id"] = last_id
            page = self.parse(OzonReviewPage, await self._post("/v2/review/list", body), what="review list")
            result.pages += 1
            collect_entries(result, page.reviews, OzonReview, self._review, id_field="id", time_field="published_at")
            if not page.has_next or not page.last_id or page.last_id == last_id:
                return result
            last_id = page.last_id

    def _review(self, r: OzonReview, raw: dict[str, Any]) -> FetchedItem | None:
        if r.status not in UNANSWERED_REVIEW:
            return None
        item = FeedbackItem(platform="ozon", item_type=ItemType.REVIEW, external_id=r.id, text=r.text,
                            rating=r.rating, brand_id=self.brand)
        return FetchedItem(item, r.published_at, str(r.sku), raw)

    async def _questions(self, since: datetime) -> FetchResult:
        result = FetchResult()
        last_id = ""
        budget = self.page_budget("question list")
        while True:
            budget.turn()
            body: dict[str, Any] = {"filter": {"status": "UNPROCESSED", "date_from": _rfc3339(since)},
                                    "limit": self.page_size, "sort_dir": "ASC"}
            if last_id:
                body["last_id"] = last_id
            page = self.parse(OzonQuestionPage, await self._post("/v1/question/list", body), what="question list")
            result.pages += 1
            collect_entries(result, page.questions, OzonQuestion, self._question, id_field="id",
                            time_field="published_at")
            # older spec versions have no has_next: an empty page or no last_id ends the list
            more = page.has_next if page.has_next is not None else bool(page.questions)
            if not more or not page.last_id or page.last_id == last_id:
                return result
            last_id = page.last_id

    def _question(self, q: OzonQuestion, raw: dict[str, Any]) -> FetchedItem:
        item = FeedbackItem(platform="ozon", item_type=ItemType.QUESTION, external_id=q.id, text=q.text,
                            author=q.author_name, brand_id=self.brand)
        return FetchedItem(item, q.published_at, str(q.sku), raw)

    async def seller_answers(self, item_type: ItemType, external_id: str, sku: str) -> list[SellerAnswer]:
        if item_type is ItemType.QUESTION:
            page = self.parse(OzonAnswerPage, await self._post("/v1/question/answer/list", {
                "question_id": external_id, "sku": int(sku)}), what="question answer list")
            return [SellerAnswer(a.text, a.id) for a in page.answers]
        comments = self.parse(OzonCommentPage, await self._post("/v1/review/comment/list", {
            "review_id": external_id, "limit": 100, "offset": 0, "sort_dir": "ASC"}), what="review comment list")
        own = [SellerAnswer(c.text, c.id) for c in comments.comments if c.is_owner and not c.parent_comment_id]
        if own:
            return own
        info = self.parse(OzonReviewInfo, await self._post("/v2/review/info", {"review_id": external_id}),
                          what="review info")
        # our comment may still be in moderation (not listed), but creating it marked the review PROCESSED
        return [SellerAnswer(text="", answer_id="")] if info.status == "PROCESSED" else []

    async def publish(self, item_type: ItemType, external_id: str, sku: str, text: str) -> str:
        """The new comment's or answer's id; an answer without one is a `BadResponse` (outcome unknown)."""
        if item_type is ItemType.REVIEW:
            data = await self._post("/v1/review/comment/create", {
                "review_id": external_id, "text": text, "mark_review_as_processed": True}, idempotent=False)
            return self.parse(OzonCommentCreated, data, what="review comment/create reply").comment_id
        data = await self._post("/v1/question/answer/create", {
            "question_id": external_id, "sku": int(sku), "text": text}, idempotent=False)
        return self.parse(OzonAnswerCreated, data, what="question answer/create reply").answer_id


def _rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
