"""The service lexicon (pilot/generation/data/services.yaml): shape, lookups and free-text detection."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from pilot.generation.entities import BY_ID, CATEGORIES, INTEGRATIONS, ROLES, find_integrations, lookup_service

READ_OPS = {"", "list", "search", "get"}
WRITE_OPS = {"", "send", "post", "create", "append", "upsert", "update"}
PLACEHOLDER = re.compile(r"\{\{.*?\}\}")


def test_data_file_ships_inside_the_package():
    assert resources.files("pilot.generation").joinpath("data", "services.yaml").is_file()


def test_size_and_unique_ids():
    assert len(INTEGRATIONS) >= 150
    ids = [i.id for i in INTEGRATIONS]
    assert len(ids) == len(set(ids)) == len(BY_ID)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids)


def test_every_service_is_classified():
    for i in INTEGRATIONS:
        assert i.name and i.category in CATEGORIES and i.role in ROLES, i.id
        assert i.kind in {"data", "messaging", "service"}, i.id
        assert i.read_op in READ_OPS and i.write_op in WRITE_OPS, i.id


def test_no_alias_names_two_services():
    for i in INTEGRATIONS:
        for alias in (i.id, i.name, *i.en, *i.zh, *i.names):
            found = lookup_service(alias)
            assert found is not None and found.id == i.id, f"{alias!r} of {i.id} resolves to {found and found.id}"


def test_aliases_are_lower_case():
    for i in INTEGRATIONS:
        for alias in (*i.en, *i.zh, *i.names):
            assert alias == alias.strip().lower(), (i.id, alias)
        assert all(a.isascii() for a in i.en), i.id


def test_urls_are_https_with_input_placeholders():
    for i in INTEGRATIONS:
        for url in (i.api_url, i.write_url, i.feed_url, *(u for _, _, u in i.actions)):
            if not url:
                continue
            assert url.startswith("https://"), (i.id, url)
            for ph in PLACEHOLDER.findall(url):
                assert re.fullmatch(r"\{\{ (?:inputs|credentials)\.[a-z][a-z0-9_]* \}\}", ph), (i.id, ph)
                # a token or key in a URL is a credential (redacted, never stored with a run), not a run input
                assert not re.fullmatch(r"\{\{ inputs\.\w*(?:token|key|secret|password)\w* \}\}", ph) or \
                    re.search(r"(?:app_token|spreadsheet_token|file_key|object_key|issue_key)", ph), (i.id, ph)


@pytest.mark.parametrize(("name", "iid"), [
    ("Google Sheets", "google_sheets"), ("google_sheets", "google_sheets"), ("谷歌表格", "google_sheets"),
    ("钉钉", "dingtalk"), ("DingTalk", "dingtalk"), ("飞书", "feishu"), ("Lark", "feishu"), ("GitHub", "github"),
    ("git-hub", "github"), ("Gmail", "email"), ("36kr", "kr36"), ("36氪", "kr36"), ("Monday", "monday"),
    ("monday.com", "monday"), ("Linear", "linear"), ("Excel", "microsoft_excel"), ("京东", "jd"), ("X", "twitter"),
    ("Hacker News", "hacker_news"), ("hackernews", "hacker_news"), ("web search", "web_search"), ("Twilio", "sms"),
    ("wenjuanxing", "wenjuanxing"), ("问卷星", "wenjuanxing"), ("PDF", "pdf"), ("ＧＩＴＨＵＢ", "github"),
])
def test_lookup_service(name, iid):
    found = lookup_service(name)
    assert found is not None and found.id == iid


def test_lookup_unknown():
    assert lookup_service("no such service") is None
    assert lookup_service("") is None


def test_feeds():
    assert lookup_service("36氪").feed_url == "https://36kr.com/feed"
    assert lookup_service("虎嗅").feed_url == "https://www.huxiu.com/rss/0.xml"
    assert lookup_service("Hacker News").feed_url.startswith("https://hacker-news.firebaseio.com/")
    news = [i for i in INTEGRATIONS if i.category == "news"]
    assert all(i.role == "source" or i.write_op for i in news)
    assert sum(1 for i in news if i.feed_url) >= 15


def test_write_urls():
    assert BY_ID["jira"].write_url == "https://{{ inputs.jira_site }}.atlassian.net/rest/api/3/issue"
    assert BY_ID["notion"].write_url == "https://api.notion.com/v1/pages"
    assert BY_ID["github"].write_url == "https://api.github.com/repos/{{ inputs.repository }}/issues"
    assert "values/A1:append" in BY_ID["google_sheets"].write_url


def test_service_actions_are_checked_at_load():
    from pilot.generation.entities import SERVICE_ACTIONS, _actions
    from pilot.generation.service_actions import PHRASES, TITLES

    assert set(PHRASES) == set(SERVICE_ACTIONS) == set(TITLES)  # a phrase and a title for every action a service may list
    assert BY_ID["stripe"].action("refund") == ("POST", "https://api.stripe.com/v1/refunds")
    assert BY_ID["stripe"].action("close") is None and BY_ID["slack"].action("refund") is None
    assert _actions({"refund": "POST https://x.example/refunds"}, "t") == (("refund", "POST", "https://x.example/refunds"),)
    for bad in ({"teleport": "POST https://x.example"}, {"refund": "GET https://x.example"},
                {"refund": "POST http://x.example"}, ["refund"]):
        with pytest.raises(ValueError, match="action"):
            _actions(bad, "t")


@pytest.mark.parametrize(("text", "iid"), [
    ("when a deal is won in pipedrive, post it to slack", "pipedrive"),
    ("每天早上抓取36氪的新闻", "kr36"),
    ("总结虎嗅今天的文章发到钉钉", "huxiu"),
    ("每小时抓一次微博热搜", "weibo_hot"),
    ("add a card to our monday.com board", "monday"),
    ("create an issue in linear app", "linear"),
    ("save the file to box.com", "box"),
    ("record the payment in square pos", "square"),
    ("send it on line messenger", "line"),
    ("把结果发到qq邮箱", "qq_mail"),
    ("看看github热榜", "github_trending"),
    ("同步到b站", "bilibili"),
])
def test_find_integrations_in_sentences(text, iid):
    found, _, _ = find_integrations(text)
    assert iid in found


@pytest.mark.parametrize("text", [
    "see you on monday, we use a linear scale",
    "put everything in the box and square it away",
    "read it line by line",
    "we are on the verge of a buffer overflow",
    "pull the lever in the greenhouse every workday",
    "the plan is workable and the team did it with gusto",
    "the amplitude of the signal is plausible",
    "add a new segment to the medium",
    "我们在北京东路有一家店",
    "这个界面使用友好",
    "公司有赞助商",
    "这个web站点很慢",
    "滚雪球式增长",
    "务必应该尽快处理",
])
def test_no_service_in_ordinary_text(text):
    assert find_integrations(text)[0] == []


def test_a_name_inside_a_longer_one_is_not_counted():
    assert find_integrations("把结果发到qq邮箱")[0] == ["qq_mail"]
    assert find_integrations("看看github热榜")[0] == ["github_trending"]
    assert find_integrations("写入飞书多维表格")[0] == ["feishu_bitable"]


@pytest.mark.parametrize(("prompt", "method", "path"), [
    ("Every Monday at 9am pull last week's closed deals from HubSpot, summarize them and post to #sales in Slack",
     "GET", "/crm/v3/objects/deals"),
    ("每天早上9点拉取HubSpot里新增的商机，AI总结后发到飞书", "GET", "/crm/v3/objects/deals"),
    ("Every morning list the open tickets in HubSpot and email me a summary", "GET", "/crm/v3/objects/tickets"),
    ("Every Friday pull the persons from Pipedrive and summarize them for me", "GET", "/v1/persons"),
    ("When a form is submitted, create a deal in HubSpot", "POST", "/crm/v3/objects/deals"),
    ("Every morning read my HubSpot records and summarize them", "GET", "/crm/v3/objects/contacts"),  # none named: the default
    # "who is on call today in Opsgenie" read the alerts
    ("Each morning, look up who is on call today in Opsgenie and DM them on Slack a summary of open Jira issues.",
     "GET", "/v2/schedules/{{ inputs.schedule_id }}/on-calls"),
    ("When Datadog reports high CPU, create an alert in Opsgenie for the on-call team", "POST", "/v2/alerts"),
])
def test_the_record_type_a_request_names_picks_the_endpoint(prompt, method, path):
    from pilot.generation.pipeline import build_offline

    calls = [n.config for n in build_offline(prompt).nodes if getattr(n.config, "service", None) in ("hubspot", "pipedrive", "opsgenie")]
    assert [(c.method, c.url.split(".com", 1)[1]) for c in calls] == [(method, path)]


def test_objects_are_https_endpoints_with_lower_case_words():
    with_objects = [i for i in INTEGRATIONS if i.objects]
    assert {"hubspot", "pipedrive", "zoho_crm", "dynamics_365"} <= {i.id for i in with_objects}
    for integ in with_objects:
        for words, url in integ.objects:
            assert url.startswith("https://") and all(w == w.lower() for w in words), integ.id
    assert BY_ID["hubspot"].object_url("sync the Deals and contacts") == "https://api.hubapi.com/crm/v3/objects/deals"
    assert BY_ID["hubspot"].object_url("a dealer list") is None  # whole words only
