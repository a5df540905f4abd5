"""/follow, /following and /unfollow end to end over the stand-in, on both backends: topics
and searches saved once by their canonical text, bad queries refused with nothing saved,
the 26th follow refused, the Remove buttons working for their owner alone, each member's
follows shown to that member only, and `/unfollow all` leaving nothing of the member."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.store import MAX_FOLLOWS, FollowKind, Store
from tests.support.botenv import NewsEnv, content, news_bot
from tests.support.helpers import write_article
from tests.support.stand_in import InteractionResult

pytestmark = pytest.mark.usefixtures("both_backends")


def stories(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    write_article(folder, "ai", title="Open source models", topics=["AI"], published=True)
    write_article(folder, "later", title="Open source AI models again", topics=["AI"])


async def follow(env: NewsEnv, user: int, **options: str) -> InteractionResult:
    result = await env.discord.slash("follow", options, user_id=user)
    assert result.ephemeral, result.data
    return result


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message.get("components") or [] for c in row.get("components") or []]


async def test_topics_and_searches_are_followed_once_and_listed_to_their_owner(
    tmp_path: Path,
) -> None:
    stories(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        d, reader, other = env.discord, env.guild.reader, env.guild.moderator
        said = content(await follow(env, reader, topic="ai"))
        assert said.startswith("You now follow the topic **AI**")
        said = content(await follow(env, reader, query='"Open source" models -crypto'))
        assert "search `models open-source -crypto`" in said
        # The same search typed otherwise is the same follow.
        again = content(await follow(env, reader, query="models  -Crypto open-source"))
        assert again.startswith("You already follow the search")
        mine = await env.store.follows.of(reader)
        assert [(f.kind, f.text) for f in mine] == [
            (FollowKind.TOPIC, "ai"),
            (FollowKind.QUERY, "models open-source -crypto"),
        ]

        listing = await d.slash("following", user_id=reader)
        assert listing.ephemeral
        text = content(listing)
        assert "1. topic **AI**" in text and "2. search `models open-source -crypto`" in text
        assert listing.message is not None
        remove = buttons(listing.message)
        assert [b["label"] for b in remove] == ["Remove 1", "Remove 2"]

        # Someone else's /following shows nothing of the reader's.
        theirs = await d.slash("following", user_id=other)
        assert theirs.ephemeral and "You follow nothing yet" in content(theirs)
        assert "open-source" not in str(theirs.data)

        # A Remove button pressed by anyone but the owner removes nothing.
        forged = await d.click(remove[0]["custom_id"], message=listing.message, user_id=other)
        assert forged.ephemeral and "not yours" in content(forged)
        assert len(await env.store.follows.of(reader)) == 2

        # The owner's press removes it, and the list is redrawn without it.
        pressed = await d.click(remove[0]["custom_id"], message=listing.message, user_id=reader)
        assert pressed.type == 7, pressed.data  # the message updated in place
        assert "topic **AI**" not in content(pressed) and "1. search" in content(pressed)
        assert [f.kind for f in await env.store.follows.of(reader)] == [FollowKind.QUERY]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ('""', "nothing to look for"),
        ('-crypto -"web three"', "at least one word"),
        (" ".join(f"word{n}" for n in range(17)), "at most 16"),
        ("ai -ai", "both looked for and left out"),
    ],
)
async def test_bad_queries_are_refused_and_nothing_is_saved(
    tmp_path: Path, query: str, says: str
) -> None:
    stories(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        result = await follow(env, env.guild.reader, query=query)
        assert says in content(result), content(result)
        assert await env.store.follows.of(env.guild.reader) == []
        unknown = await follow(env, env.guild.reader, topic="No such topic")
        assert "No articles with the topic" in content(unknown)
        neither = await follow(env, env.guild.reader)
        assert "Give a topic or a search" in content(neither)
        assert await env.store.follows.of(env.guild.reader) == []


async def test_the_26th_follow_is_refused_with_a_clear_answer(tmp_path: Path) -> None:
    stories(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        reader = env.guild.reader
        for n in range(MAX_FOLLOWS - 1):
            await env.store.follows.add(reader, FollowKind.QUERY, f"word{n}", f"word{n}")
        last = await follow(env, reader, query="the twenty-fifth")
        assert "You now follow" in content(last)
        refused = await follow(env, reader, query="one too many")
        assert f"You already follow {MAX_FOLLOWS} topics and searches" in content(refused)
        assert "/unfollow" in content(refused)
        assert len(await env.store.follows.of(reader)) == MAX_FOLLOWS
        # Following again what is already followed is not refused: it is one follow.
        again = await follow(env, reader, query="the twenty-fifth")
        assert "already follow the search" in content(again)


async def test_unfollow_one_by_autocomplete_and_all_leaves_nothing(tmp_path: Path) -> None:
    stories(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        d, reader, other = env.discord, env.guild.reader, env.guild.moderator
        await follow(env, reader, topic="AI")
        await follow(env, reader, query="open source")
        await follow(env, other, query="models")
        choices = await d.autocomplete("unfollow", {"follow": ""}, "follow", user_id=reader)
        names = [c["name"] for c in choices]
        assert names == ["Topic: AI", "Search: open source", "All my follows and alerts"]
        topic_id = choices[0]["value"]
        removed = await d.slash("unfollow", {"follow": topic_id}, user_id=reader)
        assert removed.ephemeral and content(removed) == "Removed that follow."
        assert [f.text for f in await env.store.follows.of(reader)] == ["open source"]
        # Another member cannot remove it by its id.
        mine = (await env.store.follows.of(reader))[0]
        theirs = await d.slash("unfollow", {"follow": str(mine.id)}, user_id=other)
        assert "You don't follow that" in content(theirs)

        # An alert queued for the member, then /unfollow all: nothing of theirs is left.
        await env.store.publishing.publish("later", "test")
        await d.wait_for(lambda: len(d.dms(reader)) == 1, 10)
        everything = await d.slash("unfollow", {"follow": "all"}, user_id=reader)
        assert "Removed all your follows (1)" in content(everything)
        assert await env.store.follows.of(reader) == []
        assert await env.store.alerts.of(reader) == {}
        for table in ("follows", "alerts"):
            left = await env.store.db.fetchval(
                f"SELECT COUNT(*) FROM {table} WHERE member_id = ?", [reader]
            )
            assert left == 0
        assert [f.text for f in await env.store.follows.of(other)] == ["models"]


# --- the matcher of each process -----------------------------------------------------------

AI_URL = "https://example.com/news/ai"


async def test_each_process_matches_the_follows_any_process_changed(
    database: Path | str, store_dir: Path
) -> None:
    """Two processes on one database: a follow added, removed or paused by either is what
    the other matches next (its matcher rebuilt when the change counter moved), and each
    keeps its own changes without a rebuild."""
    stories(store_dir)
    story = [(AI_URL, "ai")]
    async with Store.open(database, store_dir) as one, Store.open(database, store_dir) as two:
        await one.folder.sync()
        assert await one.follows.members_for(story) == []
        await one.follows.add(1, FollowKind.QUERY, "models open-source", "open source models")
        await one.follows.add(2, FollowKind.QUERY, "crypto", "crypto")  # matches nothing
        assert await one.follows.members_for(story) == [(AI_URL, "ai", 1)]  # its own change
        assert await two.follows.members_for(story) == [(AI_URL, "ai", 1)]  # rebuilt

        await two.follows.add(3, FollowKind.TOPIC, "ai", "AI")
        assert [m for *_, m in await one.follows.members_for(story)] == [1, 3]
        [follow] = await one.follows.of(1)
        assert await two.follows.remove(1, follow.id)
        assert not await two.follows.remove(3, follow.id)  # gone, and never 3's
        assert [m for *_, m in await one.follows.members_for(story)] == [3]

        await one.alerts.closed(3, "DMs closed")  # paused: matches nothing
        assert await two.follows.members_for(story) == []
        assert await one.follows.members_for(story) == []
        await two.follows.add(3, FollowKind.TOPIC, "ai", "AI")  # following again resumes
        assert [m for *_, m in await one.follows.members_for(story)] == [3]
        assert await one.follows.count() == 2  # counts, for /status: no member named


async def test_status_counts_follows_and_alerts_without_naming_anyone(tmp_path: Path) -> None:
    stories(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        reader = env.guild.reader
        await follow(env, reader, topic="AI")
        await follow(env, env.guild.moderator, query="models")
        status = await env.discord.slash("status", user_id=env.guild.moderator)
        fields = {f["name"]: f["value"] for f in status.data["embeds"][0]["fields"]}
        assert fields["Personal alerts"] == "2 follows, 0 alerts waiting"
        assert str(reader) not in str(status.data)
