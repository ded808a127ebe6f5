"""Yandex Market goods feedback and questions (`https://api.partner.market.yandex.ru`; seed 003 §7.3,
docs/external-apis.md "Yandex Market — goods feedback and questions"). Header `Api-Key`; envelope
`{status: "OK", result}`; rate limit replies are HTTP 420.

- feedback: `POST /v2/businesses/{businessId}/goods-feedback?limit=50&pageToken=` with
  `{reactionStatus: NEED_REACTION, dateTimeFrom}`; reply `POST .../goods-feedback/comments/update
  {feedbackId, comment: {text}}`; look before publishing: `POST .../goods-feedback/comments {feedbackId}`,
  comments by the business or brand without a parent.
- questions: `POST /v1/businesses/{businessId}/goods-questions` with `{needAnswer: true, dateFrom}` (a window of
  at most one month); answer `POST .../goods-questions/update {operationType: CREATE, parentEntityId: {id,
  type: QUESTION}, text}`; look before publishing: `POST .../goods-questions/answers {questionId}`.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from adolfd.clients.errors import Rejected
from adolfd.clients.feedback import FetchedItem, FetchResult, collect_entries
from adolfd.clients.http import ApiClient
from adolfd.domain.reputation.replies import SellerAnswer
from adolfd.domain.reputation.review_analysis import FeedbackItem, ItemType

if TYPE_CHECKING:
    from adolfd.engine.context import Resources

PAGE_LIMIT = 50
SELLER_AUTHORS = ("BUSINESS", "BRAND", "VENDOR")


class YmEnvelope(BaseModel):
    status: str
    result: Any = None
    errors: list[Any] | None = None


class YmPaging(BaseModel):
    nextPageToken: str | None = None


class YmFeedbackIds(BaseModel):
    orderId: int | None = None
    offerId: str | None = None


class YmFeedbackText(BaseModel):
    advantages: str | None = None
    disadvantages: str | None = None
    comment: str | None = None


class YmFeedbackStats(BaseModel):
    rating: int = Field(ge=1, le=5)
    commentsCount: int = 0


class YmFeedback(BaseModel):
    feedbackId: int
    createdAt: datetime
    needReaction: bool
    identifiers: YmFeedbackIds
    author: str | None = None
    description: YmFeedbackText | None = None
    statistics: YmFeedbackStats


class YmFeedbackList(BaseModel):
    feedbacks: list[Any]
    paging: YmPaging | None = None


class YmQuestionIds(BaseModel):
    id: int
    categoryId: int | None = None
    offerId: str | None = None


class YmAuthor(BaseModel):
    type: str | None = None
    name: str | None = None


class YmQuestion(BaseModel):
    questionIdentifiers: YmQuestionIds
    text: str
    createdAt: datetime
    author: YmAuthor | None = None


class YmQuestionList(BaseModel):
    questions: list[Any]
    paging: YmPaging | None = None


class YmComment(BaseModel):
    id: int
    text: str = ""
    parentId: int | None = None
    author: YmAuthor | None = None
    status: str | None = None


class YmCommentList(BaseModel):
    comments: list[YmComment] = []
    paging: YmPaging | None = None


class YmAnswer(BaseModel):
    id: int
    text: str = ""
    author: YmAuthor | None = None
    status: str | None = None


class YmEntity(BaseModel):
    id: int
    type: str | None = None


class YmCreated(BaseModel):
    entity: YmEntity


class YmAnswerList(BaseModel):
    answers: list[YmAnswer] = []
    paging: YmPaging | None = None


class YmFeedbackClient(ApiClient):
    api = "ym"
    platform = "ym"

    def __init__(self, *args: Any, brand: str, api_key: str, business_id: str, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.brand = brand
        self._api_key = api_key
        if not business_id:
            raise LookupError(f"no Yandex Market business_id configured for brand {brand!r}")
        self.business_id = business_id

    @classmethod
    def for_brand(cls, res: Resources, brand: str) -> YmFeedbackClient:
        creds = res.settings.account("ym", brand)
        return cls(res.http_for(cls.api), res.limiter, account=creds.business_id or brand, brand=brand,
                   api_key=creds.api_key.get_secret_value(), business_id=creds.business_id,
                   limits=lambda ec: res.settings.rate_limit(cls.api, ec), settings=res.settings.http)

    async def auth_headers(self) -> dict[str, str]:
        return {"Api-Key": self._api_key}

    async def _call(self, path: str, body: dict[str, Any], endpoint_class: str, *, params: dict[str, Any] | None = None,
                    idempotent: bool = True, what: str) -> Any:
        version = "v2" if path.startswith("goods-feedback") else "v1"
        data = await self.request_json("POST", f"/{version}/businesses/{self.business_id}/{path}", json_body=body,
                                       params=params, endpoint_class=endpoint_class, idempotent=idempotent)
        envelope = self.parse(YmEnvelope, data, what=what)
        if envelope.status != "OK":
            raise Rejected(f"{what}: {envelope.errors or envelope.status}", api=self.api)
        return envelope.result

    async def unanswered(self, item_type: ItemType, since: datetime) -> FetchResult:
        result = FetchResult()
        token: str | None = None
        budget = self.page_budget("goods feedback list")
        while True:
            budget.turn()
            params: dict[str, Any] = {"limit": PAGE_LIMIT}
            if token:
                params["pageToken"] = token
            if item_type is ItemType.REVIEW:
                reviews = self.parse(YmFeedbackList, await self._call(
                    "goods-feedback", {"reactionStatus": "NEED_REACTION", "dateTimeFrom": since.isoformat()},
                    "goods_feedback", params=params, what="goods-feedback list"), what="goods-feedback list")
                collect_entries(result, reviews.feedbacks, YmFeedback, self._feedback, id_field="feedbackId",
                                time_field="createdAt")
                paging = reviews.paging
            else:
                # the window may not exceed a month; the poll's lookback (14 days by default) keeps inside it
                questions = self.parse(YmQuestionList, await self._call(
                    "goods-questions", {"needAnswer": True, "dateFrom": since.date().isoformat(),
                                        "sort": "CREATED_AT_ASC"},
                    "goods_questions", params=params, what="goods-questions list"), what="goods-questions list")
                collect_entries(result, questions.questions, YmQuestion, self._question, id_field="id",
                                time_field="createdAt")
                paging = questions.paging
            result.pages += 1
            next_token = paging.nextPageToken if paging else None
            if not next_token or next_token == token:
                return result
            token = next_token

    def _feedback(self, fb: YmFeedback, raw: dict[str, Any]) -> FetchedItem | None:
        if not fb.needReaction:
            return None
        text = fb.description or YmFeedbackText()
        item = FeedbackItem(
            platform="ym", item_type=ItemType.REVIEW, external_id=str(fb.feedbackId), text=text.comment or "",
            rating=fb.statistics.rating, pros=text.advantages or "", cons=text.disadvantages or "",
            author=fb.author or "", brand_id=self.brand,
        )
        return FetchedItem(item, fb.createdAt, fb.identifiers.offerId or "", raw)

    def _question(self, q: YmQuestion, raw: dict[str, Any]) -> FetchedItem:
        item = FeedbackItem(
            platform="ym", item_type=ItemType.QUESTION, external_id=str(q.questionIdentifiers.id), text=q.text,
            author=(q.author.name if q.author else "") or "", brand_id=self.brand,
        )
        return FetchedItem(item, q.createdAt, q.questionIdentifiers.offerId or "", raw)

    async def seller_answers(self, item_type: ItemType, external_id: str, sku: str = "") -> list[SellerAnswer]:
        found: list[SellerAnswer] = []
        token: str | None = None
        budget = self.page_budget("seller answers")
        while True:
            budget.turn()
            params: dict[str, Any] = {"limit": PAGE_LIMIT}
            if token:
                params["pageToken"] = token
            if item_type is ItemType.REVIEW:
                comments = self.parse(YmCommentList, await self._call(
                    "goods-feedback/comments", {"feedbackId": int(external_id)}, "goods_feedback", params=params,
                    what="goods-feedback comments"), what="goods-feedback comments")
                found += [SellerAnswer(c.text, str(c.id)) for c in comments.comments
                          if c.parentId is None and c.author and c.author.type in SELLER_AUTHORS]
                paging = comments.paging
            else:
                answers = self.parse(YmAnswerList, await self._call(
                    "goods-questions/answers", {"questionId": int(external_id)}, "goods_questions", params=params,
                    what="goods-questions answers"), what="goods-questions answers")
                found += [SellerAnswer(a.text, str(a.id)) for a in answers.answers
                          if a.author and a.author.type in SELLER_AUTHORS]
                paging = answers.paging
            next_token = paging.nextPageToken if paging else None
            if not next_token or next_token == token:
                return found
            token = next_token

    async def publish(self, item_type: ItemType, external_id: str, sku: str, text: str) -> str:
        """The new comment's or answer's id; a reply without one is a `BadResponse` (outcome unknown)."""
        if item_type is ItemType.REVIEW:
            result = await self._call("goods-feedback/comments/update", {
                "feedbackId": int(external_id), "comment": {"text": text}}, "goods_feedback_reply",
                idempotent=False, what="goods-feedback reply")
            return str(self.parse(YmComment, result, what="goods-feedback reply").id)
        result = await self._call("goods-questions/update", {
            "operationType": "CREATE", "parentEntityId": {"id": int(external_id), "type": "QUESTION"}, "text": text},
            "goods_question_answer", idempotent=False, what="goods-questions answer")
        return str(self.parse(YmCreated, result, what="goods-questions answer").entity.id)
