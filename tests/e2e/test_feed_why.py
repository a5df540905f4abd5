"""`/feed why article channel`, each of its answers, and `/feed test channel`: end to end on
both backends over the stand-in.

`/feed why` tells a server's admin what happened to one story in one of its channels: posted
(with a link to the message), queued (when due), paced (until when), paused (why), failed,
withdrawn, filtered out (which word), another topic, below `min_quality`, published before
the feed was added, served by a duplicate file, not followed at all, or missed while the
channel was paused. `/feed test` posts one sample card marked as a test, pinging no one,
after checking the bot's permissions there.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest

from bot.digest import Every
from bot.store import DeliveryState
from tests.support.botenv import NewsEnv, content, news_bot, settled
from tests.support.helpers import card_texts, is_card, write_article

pytestmark = pytest.mark.usefixtures("both_backends")
TITLE = {
    "new": "Chips and crypto",
    "fresh": "Potatoes",
    "old": "An old story",
    "draft": "A draft about AI",
    "dup-a": "Told twice",
    "dup-b": "Told twice, again",
}


async def why(env: NewsEnv, article: str, channel: int) -> str:
    result = await env.discord.slash(
        "feed", {"article": article, "channel": channel}, subcommand="why", user_id=env.guild.admin
    )
    assert result.type == 4 and result.ephemeral, result.data
    assert result.data["allowed_mentions"] == {"parse": []}
    return content(result)


async def answer_becomes(env: NewsEnv, article: str, channel: int, pattern: str) -> str:
    """Ask until the answer matches (the poster works meanwhile); the last answer."""
    last = ""

    async def matches() -> bool:
        nonlocal last
        last = await why(env, article, channel)
        return re.search(pattern, last) is not None

    try:
        await env.discord.wait_for(matches, 15)
    except TimeoutError:
        raise AssertionError(f"{pattern!r} never matched; last answer: {last!r}") from None
    return last


async def feed(env: NewsEnv, channel: str, **options: Any) -> None:
    result = await env.discord.slash(
        "feed",
        {"channel": env.guild.channels[channel], **options},
        subcommand="add",
        user_id=env.guild.admin,
    )
    assert "will receive" in content(result), content(result)


def publish(env: NewsEnv, name: str, **fields: Any) -> None:
    fields.setdefault("title", TITLE.get(name, name))
    fields.setdefault("published", True)
    write_article(env.store_dir, name, excerpt="", **fields)


async def indexed(env: NewsEnv, *names: str) -> None:
    async def all_in() -> bool:
        for name in names:
            try:
                await env.store.articles.get(name, include_hidden=True)
            except Exception:
                return False
        return True

    await env.discord.wait_for(all_in, 10)


def ts(text: str) -> list[int]:
    """The Discord timestamps in an answer."""
    return [int(t) for t in re.findall(r"<t:(\d+):f>", text)]


async def test_why_a_story_was_or_was_not_posted_in_a_channel(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    write_article(folder, "old", title=TITLE["old"], published=True, topics=["World"])
    write_article(folder, "draft", title=TITLE["draft"], published=False, topics=["AI"])
    url = "https://example.com/news/told-twice"
    write_article(folder, "dup-a", title=TITLE["dup-a"], webUrl=url, published=True, mtime=1e9)
    write_article(folder, "dup-b", title=TITLE["dup-b"], webUrl=url, published=True, mtime=2e9)
    channels = ("news", "ai", "best", "chips", "quiet")
    async with news_bot(tmp_path, channels=channels) as env:
        ch, guild = env.guild.channels, env.discord.guild_id
        await feed(env, "news")
        await feed(env, "ai", topic="AI")
        await feed(env, "best", topic="World", min_quality=50)
        await feed(env, "chips", filter="chips -crypto")
        publish(env, "new", quality=10, topics=["World"])
        publish(env, "fresh", quality=10, topics=["World"])
        await indexed(env, "new", "fresh")
        await settled(env)

        posted = await answer_becomes(env, "new", ch["news"], "was posted")
        [message] = [m for m in env.discord.messages(ch["news"]) if "Chips" in str(m)]
        link = f"https://discord.com/channels/{guild}/{ch['news']}/{message['id']}"
        assert posted.startswith(f"**{TITLE['new']}** was posted in <#{ch['news']}> <t:")
        assert posted.endswith(f": {link}")

        before = await why(env, "old", ch["news"])
        assert before.startswith(f"**{TITLE['old']}** was published <t:")
        assert "before <#" in before and "feed of every topic was added" in before
        visible, added = ts(before)
        assert visible <= added

        assert await why(env, "new", ch["ai"]) == (
            f"<#{ch['ai']}> follows **AI**; **{TITLE['new']}** is about World."
        )
        assert await why(env, "new", ch["best"]) == (
            f"**{TITLE['new']}** has quality 10, below the 50 that <#{ch['best']}>'s feed of "
            "**World** asks for (min_quality)."
        )
        assert await why(env, "new", ch["chips"]) == (
            f"**{TITLE['new']}** was filtered out of <#{ch['chips']}>: its filter "
            "`chips -crypto` leaves out `crypto`, which the story has."
        )
        assert await why(env, "fresh", ch["chips"]) == (
            f"**{TITLE['fresh']}** was filtered out of <#{ch['chips']}>: its filter "
            "`chips -crypto` needs `chips`, which the story does not have."
        )
        assert await why(env, "new", ch["quiet"]) == (
            f"<#{ch['quiet']}> follows no feed of this server, so nothing is posted there."
        )
        assert await why(env, "draft", ch["news"]) == (
            f"**{TITLE['draft']}** is not published (a draft): nothing is posted until it is."
        )
        assert await why(env, "dup-a", ch["news"]) == (
            "`dup-a` is not posted: `dup-b` has the same webUrl and serves the story instead. "
            "Ask about that one."
        )
        assert await why(env, "nope", ch["news"]) == "No article with id `nope`."

        refused = await env.discord.slash(
            "feed",
            {"article": "new", "channel": ch["news"]},
            subcommand="why",
            user_id=env.guild.moderator,
        )
        assert content(refused) == "Only server admins (Manage Server) can manage feeds."


async def test_why_queued_paced_paused_withdrawn_failed_and_missed(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    write_article(folder, "topics", title="Topics exist", topics=["World"])
    channels = ("news", "ai", "world", "posts")
    async with news_bot(tmp_path, channels=channels) as env:
        d, ch, moderator = env.discord, env.guild.channels, env.guild.moderator
        for name in channels:
            await feed(env, name, **({"max_per_hour": 1} if name == "world" else {}))

        # Queued: Discord asks the post in "ai" to wait two minutes (a long rate limit).
        d.fail_next("POST", rf"^/channels/{ch['ai']}/messages$", 429, retry_after=120)
        # Paused: the bot may no longer send in "news".
        d.set_bot_permissions(ch["news"], can_send=False)
        publish(env, "p1", topics=["World"])
        await indexed(env, "p1")

        async def waiting() -> bool:  # the 429 answered, the row waits in the outbox
            due_at = await env.store.outbox.next_due_at()
            return due_at is not None and due_at > time.time() + 60

        await d.wait_for(waiting, 10)
        queued = await why(env, "p1", ch["ai"])
        assert queued.startswith(f"**p1** is queued for <#{ch['ai']}>, due <t:")
        [due] = ts(queued)
        assert due >= time.time() + 60
        assert "(after: " in queued  # what made it wait: Discord's rate limit
        paused = await answer_becomes(env, "p1", ch["news"], "is paused")
        assert paused.startswith(f"<#{ch['news']}> is paused: ")
        assert "**p1** is not posted there" in paused

        # Paced: "world" takes one post an hour; the second story waits its turn.
        await answer_becomes(env, "p1", ch["world"], "was posted")
        publish(env, "p2", topics=["World"])
        await indexed(env, "p2")
        paced = await answer_becomes(env, "p2", ch["world"], "waits its turn")
        assert paced.startswith(f"**p2** waits its turn in <#{ch['world']}> (max_per_hour)")
        [until] = ts(paced)
        assert until >= time.time() + 3000

        # Missed: published while "news" was paused, which a digest added later resumed.
        assert (await why(env, "p2", ch["news"])).startswith(f"<#{ch['news']}> is paused: ")
        await env.store.digests.add(
            ch["news"],
            "",
            every=Every.DAILY,
            hour=8,
            size=5,
            guild_id=d.guild_id,
            actor="t",
            now=int(time.time()),
        )
        assert await why(env, "p2", ch["news"]) == (
            f"**p2** matches <#{ch['news']}>'s feed of every topic, but was not queued when it "
            "was published: the channel was paused then (what a pause skips is not sent "
            "afterwards)."
        )

        # Withdrawn: unpublished after its post was made.
        await answer_becomes(env, "p1", ch["posts"], "was posted")
        result = await d.slash("unpublish", {"article": "p1"}, user_id=moderator)
        assert content(result).startswith("Withdrew"), content(result)
        await answer_becomes(
            env, "p1", ch["posts"], r"^\*\*p1\*\* was withdrawn \(unpublished\): its post in"
        )

        # Failed: the post was deleted by hand, then the story was edited.
        posts_before = len(d.messages(ch["posts"]))
        publish(env, "f1", topics=["World"])
        await indexed(env, "f1")
        await answer_becomes(env, "f1", ch["posts"], "was posted")
        assert len(d.messages(ch["posts"])) == posts_before + 1
        post = (await env.store.outbox.posts("https://example.com/news/f1"))[ch["posts"]]
        assert post[0] == DeliveryState.SENT and post[1] is not None
        d.delete_message(ch["posts"], post[1])
        await asyncio.sleep(0.05)  # the edit below is a later write of f1: a newer mtime
        publish(env, "f1", title="f1, edited", topics=["World"])
        failed = await answer_becomes(env, "f1", ch["posts"], "failed")
        assert failed == (
            f"The post of **f1, edited** in <#{ch['posts']}> failed: message no longer exists."
        )


async def test_outside_the_newsroom_a_draft_is_unknown(tmp_path: Path) -> None:
    """A server that is not the newsroom learns nothing of drafts (their titles are the
    newsroom's), as `/article` tells it nothing; a duplicate of a published story is
    still explained."""
    folder = tmp_path / "store"
    folder.mkdir()
    write_article(folder, "draft", title=TITLE["draft"], published=False)
    url = "https://example.com/news/told-twice"
    write_article(folder, "dup-a", title=TITLE["dup-a"], webUrl=url, published=True, mtime=1e9)
    write_article(folder, "dup-b", title=TITLE["dup-b"], webUrl=url, published=True, mtime=2e9)
    async with news_bot(tmp_path, newsroom_guild_ids=frozenset({1})) as env:
        news = env.guild.channels["news"]
        await feed(env, "news")
        assert await why(env, "draft", news) == "No article with id `draft`."
        assert (await why(env, "dup-a", news)).startswith("`dup-a` is not posted: `dup-b`")
        assert (await why(env, "dup-b", news)).startswith(f"**{TITLE['dup-b']}** was published")


# --- /feed test ----------------------------------------------------------------------------


async def feed_test(env: NewsEnv, channel: int) -> str:
    """The answer to `/feed test` (deferred: its follow-up), always private."""
    result = await env.discord.slash(
        "feed", {"channel": channel}, subcommand="test", user_id=env.guild.admin
    )
    assert result.ephemeral
    return str(result.followups[-1]["content"]) if result.deferred else content(result)


async def test_feed_test_posts_one_sample_card_marked_as_a_test(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        d, news = env.discord, env.guild.channels["news"]
        answer = await feed_test(env, news)
        [message] = d.messages(news)
        link = f"https://discord.com/channels/{d.guild_id}/{news}/{message['id']}"
        assert answer == f"Posted a test card in <#{news}>: {link}"
        assert is_card(message)
        first, headline, *_ = card_texts(message)
        assert "**Test post** (/feed test)" in first
        assert "Sample story" in headline
        [sent] = [r for r in d.requests if r.method == "POST" and r.path.endswith("/messages")]
        assert sent.json is not None and sent.json["allowed_mentions"] == {"parse": []}
        assert await env.store.outbox.state_counts() == {}  # a test is no story: nothing queued


async def test_feed_test_names_a_missing_permission_and_posts_nothing(tmp_path: Path) -> None:
    async with news_bot(tmp_path) as env:
        d = env.discord
        no_embeds = d.add_channel("no-embeds", bot_can_embed=False)
        mute = d.add_channel("read-only", bot_can_send=False)
        assert await feed_test(env, no_embeds) == (
            f"I can't post in <#{no_embeds}>: I am missing Embed Links there. Grant them to "
            "the bot's role in that channel, then try again."
        )
        assert "Send Messages" in await feed_test(env, mute)
        assert d.all_posts() == {}
