"""The Mastodon adapter's pure parts: status HTML to text, the webhook signature, Mastodon's
entities to tidebreak events, the settings. Entities come from tests/mastodon_fake.py, a fake
built from the API as docs.joinmastodon.org documents it (not Mastodon itself)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tidebreak.adapters.mastodon.config import MastodonConfig, MastodonConfigError, parse_rules
from tidebreak.adapters.mastodon.html import html_to_text
from tidebreak.adapters.mastodon.sink import report_comment
from tidebreak.adapters.mastodon.webhook import (
    BadWebhook,
    parse_envelope,
    report_event,
    report_info,
    report_reason,
    sign,
    status_event,
    status_info,
    verify,
)
from tidebreak.model import ContentKind, EventType

from .mastodon_fake import FakeMastodon

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


@pytest.fixture
def fake() -> FakeMastodon:
    return FakeMastodon()  # not started: only its entities are used here


def test_html_becomes_text_with_line_breaks_entities_and_links() -> None:
    html = ('<p>Hello &amp; welcome, <span class="h-card"><a href="https://m.test/@ann" '
            'class="u-url mention">@<span>ann</span></a></span> '
            '<a href="https://m.test/tags/news" class="mention hashtag">#<span>news</span></a>'
            '</p><p>read <a href="https://news.example/a?id=1" rel="nofollow noopener">'
            '<span class="invisible">https://</span><span class="ellipsis">news.example/a</span>'
            '<span class="invisible">?id=1</span></a><br>line two<br/>line&nbsp;three</p>'
            '<script>alert("x")</script><p>&lt;b&gt;not a tag&lt;/b&gt;</p>')
    text, links = html_to_text(html)
    assert text == ("Hello & welcome, @ann #news\n\nread https://news.example/a?id=1\nline two\n"
                    "line three\n\n<b>not a tag</b>")
    assert links == ["https://news.example/a?id=1"]  # mentions and hashtags are not shared links


def test_broken_html_from_a_remote_server_still_gives_all_its_text() -> None:
    text, _ = html_to_text("<p>unclosed <b>bold <i>they are vermin</p><div>after")
    assert "they are vermin" in text and text.endswith("after")


def test_signature_is_checked_on_the_raw_bytes_in_constant_time() -> None:
    body = b'{"event":"status.created","created_at":"2026-12-01T00:00:00Z","object":{}}'
    good = sign("s3cret", body)
    assert good.startswith("sha256=") and len(good) == 7 + 64
    assert verify("s3cret", body, good)
    assert not verify("s3cret", body + b" ", good)  # re-serialised JSON is a different body
    assert not verify("other", body, good)
    assert not verify("s3cret", body, None) and not verify("s3cret", body, "")
    assert not verify("s3cret", body, good.replace("sha256=", "sha1="))
    assert not verify("s3cret", body, "sha256=\u00e9" + good[8:])  # non-ASCII: no crash


def test_a_status_is_content_by_its_account_with_spoiler_media_and_links(fake) -> None:  # type: ignore[no-untyped-def]
    acct = fake.create_account("ann", notify=False)
    parent = fake.post_status(acct["id"], "<p>first</p>", notify=False)
    st = fake.post_status(acct["id"], '<p>body <a href="https://x.example/p">x</a></p>',
                          spoiler_text="CW: politics", in_reply_to_id=parent["id"],
                          media=[{"url": "https://files.m.test/a.png", "description": "a cat"}],
                          notify=False)
    info = status_info(st)
    ev = status_event(info, EventType.CREATE, max_text_bytes=65536, now=NOW)
    c = ev.content
    assert ev.event_id == f"mastodon:status.created:{st['id']}"
    assert c.id == f"mastodon:status:{st['id']}" and c.author == f"mastodon:account:{acct['id']}"
    assert c.kind == ContentKind.COMMENT and c.parent_id == f"mastodon:status:{parent['id']}"
    assert c.text == "CW: politics\n\nbody x" and c.urls == ("https://x.example/p",)
    assert c.created_at is not None and c.language == "en"
    media = c.meta["mastodon"]["media"]
    assert media[0]["url"] == "https://files.m.test/a.png" and media[0]["description"] == "a cat"


def test_an_edit_is_keyed_by_its_edited_at_and_a_dm_is_a_message(fake) -> None:  # type: ignore[no-untyped-def]
    acct = fake.create_account("ann", notify=False)
    st = fake.post_status(acct["id"], "<p>hi</p>", visibility="direct", notify=False)
    fake.edit_status(st["id"], "<p>hi again</p>", notify=False)
    ev = status_event(status_info(st), EventType.EDIT, max_text_bytes=65536, now=NOW)
    assert ev.type == EventType.EDIT and ev.content.text == "hi again"
    assert ev.event_id == f"mastodon:status.updated:{st['id']}:{st['edited_at']}"
    assert ev.content.kind == ContentKind.MESSAGE


def test_a_boost_is_recognised(fake) -> None:  # type: ignore[no-untyped-def]
    acct = fake.create_account("ann", notify=False)
    st = dict(fake.post_status(acct["id"], "", notify=False))
    st["reblog"] = fake.post_status(acct["id"], "<p>x</p>", notify=False)
    assert status_info(st).is_boost


@pytest.mark.parametrize("body, reason", [
    (b"not json", "malformed JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"object": {}}', "field 'event'"),
    (b'{"event": "status.created", "object": "x"}', "field 'object'"),
    (b"\xff\xfe", "UTF-8"),
])
def test_bad_envelopes_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(BadWebhook, match=reason):
        parse_envelope(body)


@pytest.mark.parametrize("mutate, reason", [
    (lambda s: s.pop("account"), "object.account"),
    (lambda s: s.update(id="../../admin"), "object.id must be a Mastodon id"),
    (lambda s: s["account"].update(id="1/../2"), "object.account.id"),
])
def test_bad_statuses_are_refused_before_any_id_is_used(fake, mutate, reason) -> None:  # type: ignore[no-untyped-def]
    acct = fake.create_account("ann", notify=False)
    st = fake.post_status(acct["id"], "<p>x</p>", notify=False)
    st = {**st, "account": dict(st["account"])}
    mutate(st)
    with pytest.raises(BadWebhook, match=reason):
        status_info(st)


def test_a_report_becomes_tidebreak_reports_on_each_status(fake) -> None:  # type: ignore[no-untyped-def]
    bad = fake.create_account("bad", notify=False)
    ann = fake.create_account("ann", notify=False)
    s1 = fake.post_status(bad["id"], "<p>one</p>", notify=False)
    s2 = fake.post_status(bad["id"], "<p>two</p>", notify=False)
    r = fake.user_report(ann["id"], bad["id"], [s1["id"], s2["id"]], category="violation",
                         rule_ids=["1"], comment="hateful")
    info = report_info(fake._admin_report(r))
    assert info.target_account_id == bad["id"] and len(info.statuses) == 2
    assert info.rule_ids == ("1",) and info.reporter == f"mastodon:account:{ann['id']}"
    assert report_reason(info, {"hate": ("1",)}) == "hate"
    assert report_reason(info, {}) == "other"
    ev = report_event(info, info.statuses[0], "hate", now=NOW)
    assert ev.type == EventType.REPORT and ev.content.id == f"mastodon:status:{s1['id']}"
    assert ev.event_id == f"mastodon:report:{r['id']}:{s1['id']}" and ev.report_reason == "hate"


def test_rules_mapping_and_settings() -> None:
    assert parse_rules("hate=2, violence=3,hate=5") == {"hate": ("2", "5"), "violence": ("3",)}
    assert parse_rules("") == {}
    with pytest.raises(MastodonConfigError, match="category=rule_id"):
        parse_rules("hate:2")
    c = MastodonConfig.from_env({"TIDEBREAK_MASTODON_URL": "https://m.example/",
                                 "TIDEBREAK_MASTODON_TOKEN": "tok-SECRET",
                                 "TIDEBREAK_MASTODON_WEBHOOK_SECRET": "s"})
    assert c.url == "https://m.example" and c.acts and c.receives and not c.problems()
    assert "tok-SECRET" not in repr(c) and "s'" not in repr(c)  # secrets are never printed
    with pytest.raises(MastodonConfigError, match="base URL"):
        MastodonConfig.from_env({"TIDEBREAK_MASTODON_URL": "m.example"})
    assert len(MastodonConfig.from_env({}).problems()) == 3


def test_the_report_comment_names_rule_and_ground_within_1000_characters() -> None:
    decision = {"decision_id": "d1", "action": "remove", "categories": ["hate"],
                "reasons": [{"rule_id": "violence-review", "ground": "g0",
                             "actions": [{"type": "review"}]},
                            {"rule_id": "hate-remove", "ground": "CS 3.1 Hate " + "x" * 2000,
                             "actions": [{"type": "remove"}]}]}
    text = report_comment("mastodon:status:1", decision)
    assert text.startswith("tidebreak: remove mastodon:status:1 (decision d1); rule hate-remove: CS 3.1")
    assert "violence-review" not in text and len(text) == 1000
