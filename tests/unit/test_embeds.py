"""What readers see: every embed and button fits Discord's limits, is inert, and hides `secured`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import discord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bot.embeds as embeds_module
from bot.articles import Article, RelatedLink, is_http_url
from bot.embeds import (
    article_embed,
    article_view,
    clean,
    relative_time,
    results_embed,
    shorten,
    topics_embed,
)
from bot.plain_text import embed_to_text, view_to_text
from tests.support.helpers import examples

SECRET = "TOPSECRET-7f3a9c-do-not-show"
WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ZWSP = "\u200b"


def make_article(**overrides: Any) -> Article:
    fields: dict[str, Any] = {
        "id": "000_test",
        "title": "Open models are catching up",
        "url": "https://example.com/news/open-models",
        "published_at": WHEN,
        "excerpt": "A short excerpt about open models.",
        "provider_name": "The Example",
        "provider_domain": "example.com",
        "topics": ("AI", "Open source"),
        "related": (
            RelatedLink("Second look at open models", "https://other.example/a", provider="Other"),
        ),
        "secured": SECRET,
        "published": True,
    }
    fields.update(overrides)
    return Article(**fields)


def worst_article() -> Article:
    related = tuple(
        RelatedLink(
            title=("related*_ story " * 20)[:300],
            url=f"https://related{i}.example.com/" + "p" * 200,
            provider="Provider " * 10,
            excerpt="x" * 500,
        )
        for i in range(30)
    )
    return make_article(
        title="W_*" * 134,  # 402 characters, doubled by escaping
        excerpt="lorem *ipsum* " * 430,  # over 6,000 characters
        provider_name="P" * 400,
        topics=tuple("topic " * 60 for _ in range(10)),
        related=related,
    )


# --- limit checks shared by the tests -----------------------------------------------------


def assert_embed_fits(embed: discord.Embed) -> None:
    """Every Discord embed limit, checked on the payload that would be sent."""
    data = embed.to_dict()
    assert len(embed) <= 6000
    assert len(data.get("title", "")) <= 256
    assert len(data.get("description", "")) <= 4096
    assert len(data.get("footer", {}).get("text", "")) <= 2048
    assert len(data.get("author", {}).get("name", "")) <= 256
    fields = data.get("fields", [])
    assert len(fields) <= 25
    for field in fields:
        assert 1 <= len(field["name"]) <= 256
        assert 1 <= len(field["value"]) <= 1024
    for url in (data.get("url"), data.get("author", {}).get("url")):
        assert url is None or is_http_url(url)
    # the total as Discord counts it, independently of discord.py's __len__
    total = len(data.get("title", "")) + len(data.get("description", ""))
    total += len(data.get("footer", {}).get("text", "")) + len(
        data.get("author", {}).get("name", "")
    )
    total += sum(len(f["name"]) + len(f["value"]) for f in fields)
    assert total <= 6000


def assert_view_fits(view: discord.ui.View) -> None:
    """Link buttons only, at most 5 rows of 5, labels within 80, URLs http(s) within 512."""
    rows = view.to_components()
    assert len(rows) <= 5
    assert sum(len(row["components"]) for row in rows) <= 25
    for row in rows:
        assert len(row["components"]) <= 5
        for button in row["components"]:
            assert button["style"] == discord.ButtonStyle.link.value
            assert "custom_id" not in button
            assert 1 <= len(button["label"]) <= 80
            assert is_http_url(button["url"]) and len(button["url"]) <= 512
    assert view.timeout is None


def payload(embed: discord.Embed, view: discord.ui.View | None = None) -> str:
    """Everything that would go over the wire (and to the console), as one string."""
    parts = [json.dumps(embed.to_dict(), ensure_ascii=False), embed_to_text(embed)]
    if view is not None:
        parts += [json.dumps(view.to_components(), ensure_ascii=False), view_to_text(view)]
    return "\n".join(parts)


# --- shorten / clean ----------------------------------------------------------------------


def test_shorten_cuts_on_a_word_boundary_with_an_ellipsis() -> None:
    assert shorten("the quick brown fox jumps", 12) == "the quick…"
    assert shorten("the quick brown fox", 100) == "the quick brown fox"
    assert shorten("exactly ten", 11) == "exactly ten"


def test_shorten_cuts_hard_when_no_space_is_near_the_end() -> None:
    result = shorten("a" * 50, 10)
    assert result == "a" * 9 + "…"
    assert shorten("tiny " + "b" * 50, 20) == "tiny " + "b" * 14 + "…"


@given(st.text(max_size=400), st.integers(min_value=0, max_value=300))
def test_shorten_never_exceeds_the_limit(text: str, limit: int) -> None:
    result = shorten(text, limit)
    assert len(result) <= limit
    assert result == text or result.endswith("…") or limit == 0


def test_clean_escapes_markdown_and_neutralises_mentions() -> None:
    out = clean("**bold** _it_ ||spoiler|| `code` @everyone @here <@123> <@!123> <@&1>")
    assert r"\*\*bold\*\*" in out and r"\_it\_" in out and r"\|\|spoiler\|\|" in out
    for ping in ("@everyone", "@here", "<@123>", "<@!123>", "<@&1>"):
        assert ping not in out
    assert f"@{ZWSP}everyone" in out and f"<@{ZWSP}&1>" in out


# --- article_embed / article_view --------------------------------------------------------


def test_article_embed_shows_the_post() -> None:
    embed = article_embed(make_article())
    assert embed.title == "Open models are catching up"
    assert embed.url == "https://example.com/news/open-models"
    assert embed.description == "A short excerpt about open models."
    assert embed.author.name == "The Example"
    assert embed.author.url == "https://example.com"
    assert embed.footer.text == "AI · Open source"
    assert embed.timestamp == WHEN
    assert [f.name for f in embed.fields] == ["Related coverage"]
    assert embed.fields[0].value == "[Other · Second look at open models](https://other.example/a)"
    assert_embed_fits(embed)


def test_author_is_not_linked_when_the_domain_is_not_a_host() -> None:
    embed = article_embed(make_article(provider_domain="javascript:alert(1)"))
    assert embed.author.name == "The Example"
    assert embed.author.url is None


def test_markdown_and_mentions_in_title_and_excerpt_stay_text() -> None:
    article = make_article(
        title="**Breaking** _news_ @everyone <@&1>",
        excerpt="Read [this](https://evil.example) now @here <@&1> ~~gone~~",
        related=(RelatedLink("@everyone look ]", "https://ok.example/r", provider="X"),),
    )
    embed = article_embed(article)
    assert embed.title is not None and embed.description is not None
    assert r"\*\*Breaking\*\* \_news\_" in embed.title
    assert f"@{ZWSP}everyone" in embed.title and f"<@{ZWSP}&1>" in embed.title
    assert r"\[this\]\(https://evil.example\)" in embed.description
    assert r"\~\~gone\~\~" in embed.description
    assert f"@{ZWSP}here" in embed.description
    assert embed.fields[0].value == f"[X · @{ZWSP}everyone look \\]](https://ok.example/r)"
    text = json.dumps(embed.to_dict(), ensure_ascii=False)
    for ping in ("@everyone", "@here", "<@&1>"):
        assert ping not in text
    page = results_embed("Latest", [article], page=0, has_next=False)
    assert page.description is not None
    assert "@everyone" not in page.description and f"<@{ZWSP}&1>" in page.description


async def test_button_labels_do_not_ping() -> None:
    view = article_view(make_article(related=(RelatedLink("@everyone", "https://a.example/"),)))
    labels = [b["label"] for row in view.to_components() for b in row["components"]]
    assert labels == ["Read the article", f"@{ZWSP}everyone"]


async def test_non_http_related_urls_are_never_linked() -> None:
    article = make_article(
        related=(
            RelatedLink("Script item", "javascript:alert(1)", provider="Evil"),
            RelatedLink("FTP item", "ftp://files.example.com/x", provider="Old"),
            RelatedLink("Good item", "https://good.example/", provider="Fine"),
        )
    )
    embed, view = article_embed(article), article_view(article)
    wire = payload(embed, view)
    assert "javascript:" not in wire and "ftp://" not in wire
    assert embed.fields[0].value == (
        "Evil · Script item\nOld · FTP item\n[Fine · Good item](https://good.example/)"
    )
    urls = [b["url"] for row in view.to_components() for b in row["components"]]
    assert urls == ["https://example.com/news/open-models", "https://good.example/"]
    assert_view_fits(view)


async def test_secured_is_never_rendered() -> None:
    article = make_article(secured=SECRET)
    for embed in (
        article_embed(article),
        results_embed("Latest in AI", [article] * 5, page=0, has_next=True),
    ):
        assert SECRET not in payload(embed, article_view(article))


async def test_the_worst_article_fits_every_limit() -> None:
    article = worst_article()
    embed, view = article_embed(article), article_view(article)
    assert_embed_fits(embed)
    assert_view_fits(view)
    assert embed.title is not None and embed.title.endswith("…")
    assert embed.description is not None and embed.description.endswith("…")
    names = [f.name for f in embed.fields]
    assert names[0] == "Related coverage" and "Related coverage (cont.)" in names
    last = embed.fields[-1].value or ""
    assert last.splitlines()[-1].startswith("…and ") and last.endswith(" more")
    shown = sum(v.count("](https://related") for v in (f.value or "" for f in embed.fields))
    dropped = int(last.splitlines()[-1].split()[1])
    assert shown + dropped == 30
    assert len(view.children) == 25  # the article + 24 related


async def test_many_related_items_continue_in_further_fields() -> None:
    related = tuple(
        RelatedLink(f"Story number {i} " + "word " * 20, f"https://r{i}.example/")
        for i in range(30)
    )
    embed = article_embed(make_article(related=related, excerpt="short"))
    assert_embed_fits(embed)
    assert len(embed.fields) > 1
    assert all(f.name == "Related coverage (cont.)" for f in embed.fields[1:])
    text = "\n".join(f.value or "" for f in embed.fields)
    assert all(f"https://r{i}.example/" in text for i in range(30))  # nothing dropped


async def test_long_urls_are_not_linked_where_discord_would_refuse_them() -> None:
    long_url = "https://long.example/" + "a" * 600
    article = make_article(related=(RelatedLink("Too long", long_url),))
    embed, view = article_embed(article), article_view(article)
    assert long_url not in payload(embed, view)
    assert embed.fields[0].value == "Too long"
    assert len(view.children) == 1


def test_a_paren_in_a_url_cannot_break_the_markdown_link() -> None:
    related = (RelatedLink("Wiki", "https://en.example.org/wiki/Foo_(bar)"),)
    embed = article_embed(make_article(related=related))
    assert embed.fields[0].value == "[Wiki](https://en.example.org/wiki/Foo_%28bar%29)"


# --- results / topics ---------------------------------------------------------------------


def test_results_embed_lists_every_article_it_is_given() -> None:
    articles = [make_article(id=f"a{i}", title=f"Story {i}") for i in range(7)]
    embed = results_embed("Latest in AI", articles, page=1, has_next=True, note="Did you mean AI?")
    assert embed.title == "Latest in AI"
    description = embed.description or ""
    assert description.startswith("Did you mean AI?\n\n")
    assert description.count("**[Story") == 7
    assert "**[Story 0](https://example.com/news/open-models)**" in description
    assert f"The Example · {relative_time(WHEN)}" in description
    assert "A short excerpt about open models." in description
    assert embed.footer.text == "Page 2 · more on the next page"
    assert results_embed("x", articles, page=0, has_next=False).footer.text == "Page 1"
    assert_embed_fits(embed)


def test_results_heading_from_user_text_is_escaped() -> None:
    embed = results_embed('Search: "**open** @everyone"', [], page=0, has_next=False)
    assert embed.title == f'Search: "\\*\\*open\\*\\* @{ZWSP}everyone"'
    assert embed.description == "No articles on this page."


def test_results_embed_with_five_worst_case_articles_fits() -> None:
    worst = make_article(
        title="T_" * 300,
        url="https://example.com/" + "u" * 480,
        excerpt="e* " * 3000,
        provider_name="P_" * 200,
    )
    embed = results_embed("H" * 300, [worst] * 5, page=0, has_next=True, note="n " * 2000)
    assert_embed_fits(embed)
    assert (embed.description or "").count("](https://example.com/uuu") == 5


def test_results_embed_given_far_more_than_a_page_still_fits() -> None:
    worst = make_article(title="T_" * 300, provider_name="P_" * 200, excerpt="e " * 300)
    for count in (40, 1000):
        embed = results_embed("H" * 300, [worst] * count, page=0, has_next=True, note="n " * 2000)
        assert_embed_fits(embed)
        assert (embed.description or "").endswith(" more")


def test_topics_embed_with_500_topics_fits() -> None:
    topics = [(f"topic {i:03d} " + "long name " * 8, i) for i in range(500)]
    embed = topics_embed(topics)
    assert embed.title == "Topics"
    assert_embed_fits(embed)
    lines = (embed.description or "").splitlines()
    assert lines[0].startswith("topic 499") and lines[0].endswith(" — 499")
    assert lines[-1].startswith("…and ") and lines[-1].endswith(" more")
    assert len(lines) - 1 + int(lines[-1].split()[1]) == 500


def test_topics_embed_orders_by_count() -> None:
    embed = topics_embed([("ai", 3), ("Open source", 10), ("_ml_", 3)])
    assert embed.description == "Open source — 10\n\\_ml\\_ — 3\nai — 3"
    assert topics_embed([]).description == "No topics yet."


# --- plain text for the console -----------------------------------------------------------


async def test_embed_to_text_is_readable() -> None:
    article = make_article(
        title="Big_news **now**",
        related=(
            RelatedLink("Second look", "https://other.example/a", provider="Other"),
            RelatedLink("Third [take]", "https://third.example/b"),
        ),
    )
    text = embed_to_text(article_embed(article))
    assert text.startswith("Big_news **now**\nhttps://example.com/news/open-models\n")
    assert "by The Example <https://example.com>" in text
    assert "Related coverage:\nOther · Second look <https://other.example/a>" in text
    assert "Third [take] <https://third.example/b>" in text
    assert "AI · Open source · 2024-05-01T12:00:00+00:00" in text
    buttons = view_to_text(article_view(article))
    assert buttons.splitlines() == [
        "[Read the article] https://example.com/news/open-models",
        "[Other · Second look] https://other.example/a",
        "[Third [take]] https://third.example/b",
    ]
    assert view_to_text(None) == ""


def test_relative_time_is_a_discord_timestamp() -> None:
    assert relative_time(WHEN) == "<t:1714564800:R>"
    assert relative_time(WHEN.replace(tzinfo=None)) == "<t:1714564800:R>"  # naive is UTC
    page = results_embed("Latest", [make_article()], page=0, has_next=False)
    assert "2024-05-01 12:00 UTC" in embed_to_text(page)


# --- any valid article fits ---------------------------------------------------------------

_MARKDOWN = "*_~|`>#-[]()<>@&!\\ \n1.:"
_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=_MARKDOWN + "ab", max_size=300),
    st.tuples(st.text(min_size=1, max_size=12), st.integers(1, 700)).map(lambda t: t[0] * t[1]),
)
_hosts = st.from_regex(r"[a-z0-9]{1,20}(\.[a-z]{2,6}){1,2}", fullmatch=True)
_paths = st.text(alphabet="abcXYZ019-._~()%/?=&*_", max_size=600)
_http_urls = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}/{path}",
    st.sampled_from(["http", "https"]),
    _hosts,
    _paths,
)
_any_urls = st.one_of(
    _http_urls, st.sampled_from(["javascript:alert(1)", "ftp://files.example/x", "mailto:a@b.c"])
)
_when = st.integers(min_value=0, max_value=4_102_444_800).map(
    lambda s: datetime.fromtimestamp(s, UTC)
)
_related = st.builds(
    RelatedLink,
    title=_text,
    url=_any_urls,
    excerpt=_text,
    provider=_text,
    published_at=st.one_of(st.none(), _when),
)
_articles = st.builds(
    Article,
    id=st.from_regex(r"[0-9a-z_]{1,30}", fullmatch=True),
    title=_text.filter(lambda t: bool(t.strip())),
    url=_http_urls,
    published_at=_when,
    excerpt=_text,
    provider_name=_text,
    provider_domain=st.one_of(_hosts, _text),
    topics=st.lists(_text, max_size=10).map(tuple),
    related=st.lists(_related, max_size=40).map(tuple),
    secured=st.just(SECRET),
)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(article=_articles, others=st.lists(_articles, max_size=4))  # a page is five articles
def test_any_valid_article_renders_within_every_limit(
    article: Article, others: list[Article]
) -> None:
    embed = article_embed(article)
    view = article_view(article)  # discord.py 2.7 builds a View without a running loop
    assert_embed_fits(embed)
    assert_view_fits(view)
    page = results_embed(
        article.title, [article, *others], page=0, has_next=True, note=article.excerpt
    )
    assert_embed_fits(page)
    wire = payload(embed, view) + payload(page)
    assert SECRET not in wire
    for link in article.related:
        if not is_http_url(link.url):
            assert f"]({link.url}" not in wire
            assert f"] {link.url}" not in view_to_text(view)


# A masked link anywhere in article text: "[text](url)" must reach Discord with its
# brackets escaped, so it renders as text and never links.
_LIVE_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\((?!\S*\\\))")


def test_every_masked_link_in_article_text_stays_text() -> None:
    two = (
        "[Read the full story on govtech.com](https://www.govtech.com/a) and then "
        "[Read the full story on govtech.com](https://evil.example/phish)"
    )
    article = make_article(title=two, excerpt=two, provider_name="[P](https://evil.example)")
    embed = article_embed(article)
    page = results_embed(two, [article], page=0, has_next=False)
    for text in (embed.title, embed.description, page.title, page.description):
        assert text is not None
        assert not _LIVE_LINK.search(text.replace(f"]({article.url})", "")), text


def test_text_is_cut_to_its_budget_before_it_is_escaped(monkeypatch: Any) -> None:
    """A 5 MB excerpt is escaped only as far as it can be shown."""
    seen: list[int] = []
    real_clean = embeds_module.clean

    def measured(text: str) -> str:
        seen.append(len(text))
        return real_clean(text)

    monkeypatch.setattr(embeds_module, "clean", measured)
    huge = make_article(title="t " * 1_000_000, excerpt="[x](y) " * 800_000)
    embed = article_embed(huge)
    results_embed("Latest", [huge], page=0, has_next=False)
    assert seen and max(seen) <= 4096
    assert embed.description is not None and embed.description.endswith("…")
