"""The Ozon Seller fake over real HTTP: auth, paging, shapes, limits; answers agree with the catalogue."""
from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from adolfd.sandbox import RunningSandbox, catalog

from .conftest import NOON, SEED, ozon_headers

TODAY = NOON.date()
BRAND = "ohana_market"


def analytics_body(**overrides) -> dict:
    first, last = catalog.sales_window(TODAY)
    body = {"date_from": first.isoformat(), "date_to": last.isoformat(), "metrics": ["ordered_units"],
            "dimension": ["sku"], "limit": 1000, "offset": 0}
    body.update(overrides)
    return body


# -- auth ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("headers", "status", "code", "message"), [
    ({}, 401, 16, "Client-Id and Api-Key headers are required"),
    ({"Client-Id": "100001"}, 401, 16, "Client-Id and Api-Key headers are required"),
    ({"Client-Id": "abc", "Api-Key": "x"}, 400, 3, "Client-Id header value should be positive integer"),
    ({"Client-Id": "100001", "Api-Key": "sandbox-ozon-seller-ohana_kids"}, 404, 5,
     "Invalid Api-Key, please check the key and try again"),
    ({"Client-Id": "999999", "Api-Key": "sandbox-ozon-seller-ohana_market"}, 404, 5,
     "Invalid Api-Key, please check the key and try again"),
])
async def test_bad_credentials_get_ozon_auth_errors(running: RunningSandbox, headers: dict, status: int, code: int,
                                                   message: str) -> None:
    async with httpx.AsyncClient(base_url=running.api_url("ozon-seller")) as client:
        r = await client.post("/v1/cluster/list", json={"cluster_type": "CLUSTER_TYPE_OZON"}, headers=headers)
    assert r.status_code == status
    assert r.json() == {"code": code, "message": message, "details": []}


async def test_each_client_id_sees_its_own_brand(running: RunningSandbox) -> None:
    seen = {}
    for brand in ("ohana_market", "ohana_kids"):
        async with httpx.AsyncClient(base_url=running.api_url("ozon-seller"), headers=ozon_headers(brand)) as client:
            r = await client.post("/v3/product/list", json={"limit": 1000})
        seen[brand] = {item["offer_id"] for item in r.json()["result"]["items"]}
        assert seen[brand] == {a.offer_id for a in catalog.articles(SEED, brand)}
    assert not seen["ohana_market"] & seen["ohana_kids"]


# -- products ------------------------------------------------------------------------------------------

async def test_product_list_pages_with_last_id(ozon: httpx.AsyncClient) -> None:
    expected = sorted(a.product_id for a in catalog.articles(SEED, BRAND))
    got, last_id, pages = [], "", 0
    while True:
        r = await ozon.post("/v3/product/list", json={"filter": {"visibility": "ALL"}, "last_id": last_id, "limit": 10})
        assert r.status_code == 200
        result = r.json()["result"]
        assert result["total"] == len(expected)
        got += [item["product_id"] for item in result["items"]]
        pages += 1
        if len(result["items"]) < 10:
            break
        last_id = result["last_id"]
    assert got == expected
    assert pages == len(expected) // 10 + 1
    assert set(result["items"][0]) == {"product_id", "offer_id", "has_fbo_stocks", "has_fbs_stocks", "archived",
                                       "is_discounted", "quants"}


async def test_product_list_filters_and_validation(ozon: httpx.AsyncClient) -> None:
    r = await ozon.post("/v3/product/list", json={"filter": {"offer_id": ["OM-1003", "OM-1001", "XX-1"]}, "limit": 100})
    assert sorted(i["offer_id"] for i in r.json()["result"]["items"]) == ["OM-1001", "OM-1003"]
    r = await ozon.post("/v3/product/list", json={"filter": {"visibility": "ARCHIVED"}, "limit": 100})
    assert r.json()["result"] == {"items": [], "total": 0, "last_id": ""}
    for body in ({"limit": 0}, {"limit": 1001}, {}, {"limit": 10, "last_id": "%%%"},
                 {"limit": 10, "filter": {"offer_id": ["A"], "product_id": ["1"]}},
                 {"limit": 10, "filter": {"visibility": "SOMETIMES"}}):
        r = await ozon.post("/v3/product/list", json=body)
        assert r.status_code == 400, body
        assert r.json()["code"] == 3
    r = await ozon.post("/v3/product/list", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400


async def test_product_info_gives_sku_per_offer(ozon: httpx.AsyncClient) -> None:
    wanted = catalog.articles(SEED, BRAND)[:5]
    r = await ozon.post("/v3/product/info/list", json={"offer_id": [a.offer_id for a in wanted]})
    items = r.json()["items"]
    assert {(i["offer_id"], i["sku"], i["id"], i["name"]) for i in items} == {
        (a.offer_id, a.sku, a.product_id, a.name) for a in wanted}
    by_sku = await ozon.post("/v3/product/info/list", json={"sku": [str(wanted[0].sku)]})
    assert [i["offer_id"] for i in by_sku.json()["items"]] == [wanted[0].offer_id]
    present = sum(catalog.cluster_stock(SEED, wanted[0], c, TODAY).available for c in wanted[0].cluster_ids)
    assert by_sku.json()["items"][0]["stocks"]["stocks"][0]["present"] == present
    assert (await ozon.post("/v3/product/info/list", json={})).status_code == 400
    assert (await ozon.post("/v3/product/info/list", json={"sku": ["1"] * 1001})).status_code == 400


# -- stocks --------------------------------------------------------------------------------------------

async def test_analytics_stocks_match_the_catalogue(ozon: httpx.AsyncClient) -> None:
    articles = catalog.articles(SEED, BRAND)
    rows = []
    for start in range(0, len(articles), 100):
        batch = [str(a.sku) for a in articles[start:start + 100]]
        r = await ozon.post("/v1/analytics/stocks", json={"skus": batch})
        assert r.status_code == 200
        rows += r.json()["items"]
    expected = catalog.fbo_stocks(SEED, BRAND, TODAY)
    assert len(rows) == len(expected)
    for row, exp in zip(rows, expected, strict=True):
        assert (row["sku"], row["offer_id"], row["cluster_name"], row["warehouse_id"]) == (
            exp.article.sku, exp.article.offer_id, exp.cluster.name, exp.warehouse.warehouse_id)
        assert (row["available_stock_count"], row["transit_stock_count"], row["turnover_grade"]) == (
            exp.available, exp.transit, exp.turnover_grade)
    # per (article, cluster) the warehouse rows add up to the cluster stock
    article = next(a for a in articles if a.profile == "fast")
    moscow = catalog.CLUSTERS[0]
    in_moscow = [r for r in rows if r["sku"] == article.sku and r["cluster_id"] == moscow.cluster_id]
    assert sum(r["available_stock_count"] for r in in_moscow) == catalog.cluster_stock(
        SEED, article, moscow.cluster_id, TODAY).available
    assert {"ads", "ads_cluster", "idc", "idc_cluster", "days_without_sales", "turnover_grade_cluster",
            "macrolocal_cluster_id", "valid_stock_count", "requested_stock_count"} <= set(rows[0])


async def test_analytics_stocks_have_deficits_and_sold_out_items(ozon: httpx.AsyncClient) -> None:
    skus = [str(a.sku) for a in catalog.articles(SEED, BRAND)]
    rows = (await ozon.post("/v1/analytics/stocks", json={"skus": skus})).json()["items"]
    grades = {r["turnover_grade_cluster"] for r in rows}
    assert {"DEFICIT", "NO_SALES", "WAS_DEFICIT"} <= grades
    sold_out = [r for r in rows if r["available_stock_count"] == 0 and r["ads_cluster"] > 0]
    assert sold_out, "out of stock with recent sales"
    deficit_only = await ozon.post("/v1/analytics/stocks", json={"skus": skus, "turnover_grades": ["DEFICIT"]})
    assert deficit_only.json()["items"]
    assert {r["turnover_grade"] for r in deficit_only.json()["items"]} == {"DEFICIT"}


async def test_analytics_stocks_filters_and_limits(ozon: httpx.AsyncClient) -> None:
    skus = [str(a.sku) for a in catalog.articles(SEED, BRAND)]
    kazan = next(c for c in catalog.CLUSTERS if c.name == "Казань")
    r = await ozon.post("/v1/analytics/stocks", json={"skus": skus, "cluster_ids": [str(kazan.cluster_id)]})
    assert r.json()["items"] and {i["cluster_name"] for i in r.json()["items"]} == {"Казань"}
    r = await ozon.post("/v1/analytics/stocks", json={"skus": skus,
                                                       "macrolocal_cluster_ids": [str(kazan.macrolocal_cluster_id)]})
    assert {i["cluster_id"] for i in r.json()["items"]} == {kazan.cluster_id}
    for body in ({"skus": []}, {}, {"skus": [str(i) for i in range(1, 102)]},
                 {"skus": skus[:1], "cluster_ids": ["4"], "macrolocal_cluster_ids": ["154"]},
                 {"skus": ["abc"]}, {"skus": skus[:1], "turnover_grades": ["GREAT"]}):
        r = await ozon.post("/v1/analytics/stocks", json=body)
        assert r.status_code == 400, body
    unknown = await ozon.post("/v1/analytics/stocks", json={"skus": ["1"]})
    assert unknown.json() == {"items": []}


async def test_stock_drifts_with_the_sandbox_clock(ozon: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    skus = [str(a.sku) for a in catalog.articles(SEED, BRAND) if a.profile in ("fast", "steady")]
    today = (await ozon.post("/v1/analytics/stocks", json={"skus": skus})).json()["items"]
    await control.post("/_sandbox/clock", json={"advance_seconds": 86400})
    tomorrow = (await ozon.post("/v1/analytics/stocks", json={"skus": skus})).json()["items"]
    assert [r["available_stock_count"] for r in today] != [r["available_stock_count"] for r in tomorrow] or \
        len(today) != len(tomorrow)
    assert tomorrow == [_row(r) for r in catalog.fbo_stocks(SEED, BRAND, TODAY + timedelta(days=1))
                        if str(r.article.sku) in skus]


def _row(r: catalog.FboStock) -> dict:
    from adolfd.sandbox.ozon_seller import _stock_item
    return _stock_item(r)


# -- analytics data ------------------------------------------------------------------------------------

async def test_ordered_units_by_sku_over_28_days(ozon: httpx.AsyncClient) -> None:
    r = await ozon.post("/v1/analytics/data", json=analytics_body())
    assert r.status_code == 200
    body = r.json()
    first, last = catalog.sales_window(TODAY)
    expected = {}
    for a in catalog.articles(SEED, BRAND):
        units = sum(catalog.ordered_units_total(SEED, a, first + timedelta(days=i)) for i in range(28))
        if units:
            expected[str(a.sku)] = units
    got = {row["dimensions"][0]["id"]: row["metrics"][0] for row in body["result"]["data"]}
    assert got == expected
    assert body["result"]["totals"] == [sum(expected.values())]
    for a in catalog.articles(SEED, BRAND):
        if str(a.sku) in got:
            assert got[str(a.sku)] / 28 == pytest.approx(catalog.avg_daily_sales(SEED, a, TODAY))
    dead = [a for a in catalog.articles(SEED, BRAND) if a.profile == "dead"]
    assert dead and not any(str(a.sku) in got for a in dead), "no rows for SKUs without orders"
    assert body["timestamp"].startswith(TODAY.isoformat())


async def test_sku_day_rows_page_with_offset(ozon: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    await control.post("/_sandbox/limits", json={"api": "ozon-seller", "endpoint_class": "analytics_data",
                                                 "rate": 1000, "burst": 1000})
    body = analytics_body(dimension=["sku", "day"], metrics=["ordered_units", "revenue"], limit=200)
    rows, offset = [], 0
    while True:
        page = (await ozon.post("/v1/analytics/data", json={**body, "offset": offset})).json()["result"]["data"]
        rows += page
        if len(page) < 200:
            break
        offset += 200
    assert len(rows) > 200
    article = catalog.article_by_sku(SEED, BRAND)[int(rows[0]["dimensions"][0]["id"])]
    day = date.fromisoformat(rows[0]["dimensions"][1]["id"])
    units = catalog.ordered_units_total(SEED, article, day)
    assert rows[0]["metrics"] == [units, units * article.price]
    keys = [(r["dimensions"][0]["id"], r["dimensions"][1]["id"]) for r in rows]
    assert len(set(keys)) == len(keys)
    whole = (await ozon.post("/v1/analytics/data", json=analytics_body())).json()["result"]["totals"]
    assert sum(r["metrics"][0] for r in rows) == whole[0]


async def test_analytics_data_is_one_call_a_minute(ozon: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    assert (await ozon.post("/v1/analytics/data", json=analytics_body())).status_code == 200
    limited = await ozon.post("/v1/analytics/data", json=analytics_body())
    assert limited.status_code == 429
    assert limited.json() == {"code": 8, "message": "You have reached request rate limit per second", "details": []}
    assert limited.headers["retry-after"] == "60"
    await control.post("/_sandbox/clock", json={"advance_seconds": 30})
    again = await ozon.post("/v1/analytics/data", json=analytics_body())
    assert again.status_code == 429 and again.headers["retry-after"] == "30"
    await control.post("/_sandbox/clock", json={"advance_seconds": 30})
    assert (await ozon.post("/v1/analytics/data", json=analytics_body())).status_code == 200
    counters = (await control.get("/_sandbox/counters")).json()
    assert counters["rate_limited"]["ozon-seller:analytics_data"] == 2
    assert counters["responses"]["ozon-seller 429"] == 2
    # the other brand's Client-Id has its own quota
    async with httpx.AsyncClient(base_url=ozon.base_url, headers=ozon_headers("ohana_kids")) as kids:
        assert (await kids.post("/v1/analytics/data", json=analytics_body())).status_code == 200


async def test_analytics_data_validation(ozon: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    await control.post("/_sandbox/limits", json={"api": "ozon-seller", "endpoint_class": "analytics_data",
                                                 "rate": 1000, "burst": 1000})
    bad = (
        analytics_body(dimension=[]), analytics_body(dimension=["colour"]), analytics_body(metrics=[]),
        analytics_body(metrics=["hits_view"]), analytics_body(limit=0), analytics_body(limit=1001),
        analytics_body(date_from="yesterday"), analytics_body(date_from="2026-03-01", date_to="2026-02-01"),
        analytics_body(metrics=["ordered_units"] * 15),
    )
    for body in bad:
        r = await ozon.post("/v1/analytics/data", json=body)
        assert r.status_code == 400, body
        assert r.json()["code"] == 3
    future = await ozon.post("/v1/analytics/data", json=analytics_body(
        date_from=(TODAY + timedelta(days=1)).isoformat(), date_to=(TODAY + timedelta(days=9)).isoformat()))
    assert future.json()["result"] == {"data": [], "totals": [0]}


async def test_analytics_data_filters_and_sorting(ozon: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    await control.post("/_sandbox/limits", json={"api": "ozon-seller", "endpoint_class": "analytics_data",
                                                 "rate": 1000, "burst": 1000})
    sku = str(next(a.sku for a in catalog.articles(SEED, BRAND) if a.profile == "fast"))
    r = await ozon.post("/v1/analytics/data", json=analytics_body(
        dimension=["sku", "day"], filters=[{"key": "sku", "op": "EQ", "value": sku}]))
    rows = r.json()["result"]["data"]
    assert rows and {row["dimensions"][0]["id"] for row in rows} == {sku}
    r = await ozon.post("/v1/analytics/data", json=analytics_body(sort=[{"key": "ordered_units", "order": "DESC"}]))
    units = [row["metrics"][0] for row in r.json()["result"]["data"]]
    assert units == sorted(units, reverse=True)


# -- global limit --------------------------------------------------------------------------------------

async def test_fifty_requests_per_second_per_client_id(ozon: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    statuses = [(await ozon.post("/v1/cluster/list", json={"cluster_type": "CLUSTER_TYPE_OZON"})).status_code
                for _ in range(51)]
    assert statuses == [200] * 50 + [429]
    await control.post("/_sandbox/clock", json={"advance_seconds": 0.1})     # 5 tokens back
    statuses = [(await ozon.post("/v1/cluster/list", json={"cluster_type": "CLUSTER_TYPE_OZON"})).status_code
                for _ in range(6)]
    assert statuses == [200] * 5 + [429]


# -- clusters ------------------------------------------------------------------------------------------

async def test_cluster_list(ozon: httpx.AsyncClient) -> None:
    r = await ozon.post("/v1/cluster/list", json={"cluster_type": "CLUSTER_TYPE_OZON"})
    clusters = r.json()["clusters"]
    assert [c["name"] for c in clusters] == [c.name for c in catalog.CLUSTERS]
    moscow = clusters[0]
    assert moscow["type"] == "CLUSTER_TYPE_OZON"
    assert [w["name"] for w in moscow["logistic_clusters"][0]["warehouses"]] == [
        w.name for w in catalog.CLUSTERS[0].warehouses]
    one = await ozon.post("/v1/cluster/list", json={"cluster_type": "CLUSTER_TYPE_OZON", "cluster_ids": ["7"]})
    assert [c["id"] for c in one.json()["clusters"]] == [7]
    cis = await ozon.post("/v1/cluster/list", json={"cluster_type": "CLUSTER_TYPE_CIS"})
    assert cis.json() == {"clusters": []}
    assert (await ozon.post("/v1/cluster/list", json={})).status_code == 400
