"""Editors correct the clustering: /story split and /story merge.

The store's part on both backends (each article's story, the pins, the audit trail, read
back through the store's API), then the newsroom's commands end to end over the Discord
stand-in: who may use them, where they exist, and the readers' global /story beside them.

Stories are planted as the clusterer finds them: files sharing an `originalUrl` under
different `webUrl`s are one story. Which article's id keys a story is the clusterer's
choice, so the tests read it (`story_of`) rather than assume it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

import discord
import pytest
from discord import app_commands

from bot.errors import ArticleNotFound
from bot.store import Store, StoryEditRefused
from bot.store.database import Database
from bot.store.story_pins import Refusal, StoryPins
from bot.ui import reader_command
from tests.support.botenv import NewsEnv, content, news_bot
from tests.support.helpers import write_article
from tests.support.stand_in import InteractionResult, Perm, StandIn

EDITOR = "editor (42)"
DAM = "https://wire.example/2024/03/dam-breaks?utm_source=feed"
FLOOD = "https://wire.example/2024/03/flood-warning"
DAM_STORY = ("wire", "paper", "blog")  # 08:00, 09:00, 10:00 on 1 March
FLOOD_STORY = ("flood", "radio")  # 06:00, 07:00: the earlier story
REFUSED = "Only moderators can use /story split"
OUTSIDE = "Only moderators in the newsroom server can use /story split"


def plant(folder: Path) -> None:
    """Two stories (the same wire text under several publishers each) and a lone article."""
    folder.mkdir(exist_ok=True)
    files: list[tuple[str, str | None, str, str]] = [
        ("wire", DAM, "Dam breaks upstream of the valley", "08"),
        ("paper", DAM, "Valley dam gives way after storms", "09"),
        ("blog", DAM, "What we know about the dam break", "10"),
        ("flood", FLOOD, "Flood warning issued for the valley", "06"),
        ("radio", FLOOD, "Valley residents told to expect floods", "07"),
        ("lone", None, "Council approves the new library", "11"),
    ]
    for name, original, title, hour in files:
        write_article(
            folder,
            name,
            title=title,
            webUrl=f"https://{name}.example/valley/{name}",
            originalUrl=original,
            publishedDateTime=f"2024-03-01T{hour}:00:00Z",
            published=True,
            provider={"name": f"The {name.title()}", "domain": f"{name}.example"},
        )


async def stories(store: Store, ids: Iterable[str]) -> dict[str, str]:
    return {i: await store.story_pins.story_of(i) for i in ids}


async def pins(store: Store, ids: Iterable[str]) -> dict[str, str | None]:
    """Each article's pinned story (None: not pinned)."""
    found = {i: await store.story_pins.pin(i) for i in ids}
    return {i: p.story if p else None for i, p in found.items()}


async def trail(store: Store) -> list[tuple[str, str, str, str]]:
    """(action, article id, actor, detail) of every audit entry, oldest first."""
    entries = await store.publishing.audit_trail()
    return [(e.action, e.article_id, e.actor, e.detail) for e in reversed(entries)]


ALL = (*DAM_STORY, *FLOOD_STORY, "lone")


@pytest.fixture
async def planted(store: Store) -> Store:
    plant(store.store_dir)
    await store.folder.sync()
    return store


# --- the store ------------------------------------------------------------------------------


async def test_planted_stories_are_what_the_clusterer_made(planted: Store) -> None:
    found = await stories(planted, ALL)
    assert len({found[i] for i in DAM_STORY}) == 1
    assert len({found[i] for i in FLOOD_STORY}) == 1
    assert len(set(found.values())) == 3  # the lone article is a story of its own
    assert await pins(planted, ALL) == dict.fromkeys(ALL)  # nothing pinned yet


async def test_a_split_article_begins_its_own_story_and_its_mates_are_pinned(
    planted: Store,
) -> None:
    key = await planted.story_pins.story_of("wire")
    assert key != "paper"  # neither the first file nor the earliest: never the key
    done = await planted.story_pins.split("paper", EDITOR)

    assert done.article.id == "paper" and done.former == key
    assert done.left.key == key and done.left.count == 2
    assert [a.id for a in done.left.articles] == ["wire", "blog"]  # earliest first
    assert await stories(planted, DAM_STORY) == {"wire": key, "paper": "paper", "blog": key}
    assert await pins(planted, ALL) == {
        "wire": key,
        "paper": "paper",
        "blog": key,
        "flood": None,
        "radio": None,
        "lone": None,
    }
    pin = await planted.story_pins.pin("paper")
    assert pin is not None and pin.pinned_by == EDITOR
    assert pin.pinned_at == pytest.approx(planted.clock(), abs=5)
    assert await trail(planted) == [("split story", "paper", EDITOR, f"left story {key}")]


async def test_splitting_the_article_that_keys_a_story_gives_the_rest_a_new_key(
    planted: Store,
) -> None:
    key = await planted.story_pins.story_of("wire")
    rest = [i for i in DAM_STORY if i != key]  # in time order: the earliest keys the rest
    done = await planted.story_pins.split(key, EDITOR)

    assert done.left.key == rest[0] and [a.id for a in done.left.articles] == rest
    assert await stories(planted, DAM_STORY) == {key: key} | dict.fromkeys(rest, rest[0])
    assert await pins(planted, DAM_STORY) == {key: key} | dict.fromkeys(rest, rest[0])
    detail = f"left story {key}; the rest is now story {rest[0]}"
    assert await trail(planted) == [("split story", key, EDITOR, detail)]


async def test_a_merge_makes_one_story_under_the_earlier_ones_key(planted: Store) -> None:
    dam, flood = (
        await planted.story_pins.story_of("paper"),
        await planted.story_pins.story_of("radio"),
    )
    done = await planted.story_pins.merge("paper", "radio", EDITOR)

    assert done.story.key == flood and done.absorbed == dam and done.moved == 3
    assert [a.id for a in done.story.articles] == ["flood", "radio", "wire", "paper", "blog"]
    assert done.story.count == 5
    merged = (*DAM_STORY, *FLOOD_STORY)
    assert await stories(planted, merged) == dict.fromkeys(merged, flood)
    assert await pins(planted, ALL) == dict.fromkeys(merged, flood) | {"lone": None}
    detail = f"story {dam} joined story {flood} (with radio)"
    assert await trail(planted) == [("merge story", "paper", EDITOR, detail)]


async def test_a_split_then_a_merge_puts_the_article_back(planted: Store) -> None:
    key = await planted.story_pins.story_of("wire")
    await planted.story_pins.split("paper", EDITOR)
    done = await planted.story_pins.merge("paper", "blog", "other editor (7)")

    assert done.story.key == key and done.absorbed == "paper" and done.moved == 1
    assert await stories(planted, DAM_STORY) == dict.fromkeys(DAM_STORY, key)
    assert await pins(planted, DAM_STORY) == dict.fromkeys(DAM_STORY, key)
    assert [action for action, *_ in await trail(planted)] == ["split story", "merge story"]


async def test_a_split_takes_the_files_of_the_same_web_url_along(planted: Store) -> None:
    """A second file of paper's webUrl (one of the two is served, the other hidden as its
    duplicate) is the same article: it leaves the story with it."""
    write_article(
        planted.store_dir,
        "paper-copy",
        title="Valley dam gives way after storms",
        webUrl="https://paper.example/valley/paper",
        originalUrl=DAM,
        publishedDateTime="2024-03-01T09:30:00Z",
        published=True,
    )
    await planted.folder.sync()
    key = await planted.story_pins.story_of("wire")
    assert await planted.story_pins.story_of("paper-copy") == key
    done = await planted.story_pins.split("paper", EDITOR)

    assert [a.id for a in done.left.articles] == ["wire", "blog"]
    both = ("paper", "paper-copy")
    assert await stories(planted, both) == dict.fromkeys(both, "paper")
    assert await pins(planted, both) == dict.fromkeys(both, "paper")
    with pytest.raises(StoryEditRefused) as alone:
        await planted.story_pins.split("paper-copy", EDITOR)
    assert alone.value.why == Refusal.ALONE


async def test_refusals_change_nothing(planted: Store) -> None:
    before = await stories(planted, ALL)
    edits = planted.story_pins

    with pytest.raises(StoryEditRefused) as alone:
        await edits.split("lone", EDITOR)
    assert alone.value.why == Refusal.ALONE and alone.value.article_id == "lone"
    with pytest.raises(StoryEditRefused) as same:
        await edits.merge("wire", "blog", EDITOR)
    assert same.value.why == Refusal.SAME_STORY and same.value.story == before["wire"]
    with pytest.raises(StoryEditRefused):
        await edits.merge("paper", "paper", EDITOR)
    for unknown in (edits.split("nope", EDITOR), edits.merge("wire", "nope", EDITOR)):
        with pytest.raises(ArticleNotFound) as missing:
            await unknown
        assert missing.value.article_id == "nope"

    assert await stories(planted, ALL) == before
    assert await pins(planted, ALL) == dict.fromkeys(ALL)
    assert await trail(planted) == []


async def test_a_deleted_article_is_unknown_and_no_longer_counts_as_a_mate(
    planted: Store,
) -> None:
    (planted.store_dir / "radio.txt").unlink()
    await planted.folder.sync()
    with pytest.raises(ArticleNotFound):
        await planted.story_pins.split("radio", EDITOR)
    with pytest.raises(StoryEditRefused) as alone:
        await planted.story_pins.split("flood", EDITOR)
    assert alone.value.why == Refusal.ALONE


async def test_pins_survive_reopening_the_store(database: Path | str, store_dir: Path) -> None:
    plant(store_dir)
    async with Store.open(database, store_dir) as store:
        await store.folder.sync()
        key = await store.story_pins.story_of("wire")
        await store.story_pins.split("paper", EDITOR)
    async with Store.open(database, store_dir) as store:
        await store.folder.sync()  # nothing changed on disk: nothing re-read
        assert await stories(store, DAM_STORY) == {"wire": key, "paper": "paper", "blog": key}
        assert await pins(store, DAM_STORY) == {"wire": key, "paper": "paper", "blog": key}
        assert [a for a, *_ in await trail(store)] == ["split story"]


class CountingDatabase:
    """The store's database, counting the statements sent to it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.statements = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    async def fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        self.statements += 1
        return await self.db.fetch(sql, params)

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        self.statements += 1
        return await self.db.fetchval(sql, params)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        self.statements += 1
        return await self.db.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.statements += 1
        await self.db.executemany(sql, rows)


async def test_the_statements_of_an_edit_do_not_grow_with_the_story(
    database: Path | str, store_dir: Path
) -> None:
    """Two stories of 60 articles each cost the statements two of 3 do."""
    counts: list[tuple[int, int]] = []
    async with Store.open(database, store_dir) as store:
        for size in (3, 60):
            for n in range(size):
                for kind, original in (("dam", DAM), ("flood", FLOOD)):
                    name = f"s{size}-{kind}{n:03d}"
                    write_article(
                        store_dir,
                        name,
                        title=" ".join(f"{name}w{k}" for k in range(6)),  # no shared word
                        excerpt=" ".join(f"{name}x{k}" for k in range(12)),
                        webUrl=f"https://p{n}.example/{name}",
                        originalUrl=f"{original}&size={size}",
                        publishedDateTime=f"2024-03-01T08:{n:02d}:00Z",
                        published=True,
                    )
            await store.folder.sync()
            counting = CountingDatabase(store.db)
            edits = StoryPins(cast(Database, counting), store.clock)
            await edits.split(f"s{size}-dam001", EDITOR)
            split = counting.statements
            merged = await edits.merge(f"s{size}-dam002", f"s{size}-flood001", EDITOR)
            assert merged.story.count == 2 * size - 1
            counts.append((split, counting.statements - split))
    assert counts[0] == counts[1], counts


# --- end to end: the newsroom's /story -------------------------------------------------------


async def story(env: NewsEnv, sub: str, user_id: int, **options: Any) -> InteractionResult:
    return await env.discord.slash("story", options, subcommand=sub, user_id=user_id)


def answered_privately(result: InteractionResult) -> str:
    """The answer's text: ephemeral, pinging nobody, no embed."""
    assert result.type == 4 and result.ephemeral, result.data
    assert result.data.get("allowed_mentions") == {"parse": []}, result.data
    assert not result.data.get("embeds")
    return content(result)


@pytest.mark.usefixtures("both_backends")
async def test_a_moderator_splits_then_merges_in_the_newsroom(tmp_path: Path) -> None:
    plant(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        key = await env.store.story_pins.story_of("wire")
        mod = env.guild.moderator
        offered = await env.discord.autocomplete(
            "story", {}, "article", subcommand="split", user_id=mod
        )
        assert {c["name"] for c in offered} >= {"Valley dam gives way after storms"}

        text = answered_privately(await story(env, "split", mod, article="paper"))
        assert text.startswith("Split: **Valley dam gives way after storms** (`paper`)")
        assert "now begins its own story, `paper`" in text
        assert f"The story it left (`{key}`, 2 articles):" in text
        assert "- **Dam breaks upstream of the valley** (`wire`), The Wire, <t:" in text
        assert "Posts already made stay as they are" in text

        text = answered_privately(await story(env, "merge", mod, article="paper", other="blog"))
        assert text.startswith(f"Merged: story `paper` joined story `{key}`, the earlier one")
        assert f"The story now (`{key}`, 3 articles):" in text
        assert text.index("(`wire`)") < text.index("(`paper`)") < text.index("(`blog`)")

        text = answered_privately(await story(env, "split", mod, article="lone"))
        assert text == (
            "`lone` is the only article of its story: nothing to split. Nothing was changed."
        )
        text = answered_privately(await story(env, "merge", mod, article="wire", other="blog"))
        assert "are already one story" in text and "Nothing was changed." in text
        text = answered_privately(await story(env, "split", mod, article="nope"))
        assert text == "No article with id `nope`."

        assert await stories(env.store, DAM_STORY) == dict.fromkeys(DAM_STORY, key)
        assert await pins(env.store, ALL) == dict.fromkeys(DAM_STORY, key) | dict.fromkeys(
            (*FLOOD_STORY, "lone")
        )
        who = f"moderator ({mod})"
        assert await trail(env.store) == [
            ("split story", "paper", who, f"left story {key}"),
            ("merge story", "paper", who, f"story paper joined story {key} (with blog)"),
        ]


@pytest.mark.usefixtures("both_backends")
async def test_a_reader_is_refused_audited_and_offered_nothing(tmp_path: Path) -> None:
    plant(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        reader = env.guild.reader
        before = await stories(env.store, ALL)
        text = answered_privately(await story(env, "split", reader, article="paper"))
        assert text.startswith(REFUSED)
        text = answered_privately(await story(env, "merge", reader, article="paper", other="flood"))
        assert text.startswith("Only moderators can use /story merge")
        offered = await env.discord.autocomplete(
            "story", {}, "article", subcommand="split", user_id=reader
        )
        assert offered == []

        assert await stories(env.store, ALL) == before
        assert await pins(env.store, ALL) == dict.fromkeys(ALL)
        who = f"reader ({reader})"
        assert await trail(env.store) == [
            ("refused story split", "paper", who, "not a moderator"),
            ("refused story merge", "paper", who, "not a moderator"),
        ]


@pytest.mark.usefixtures("both_backends")
async def test_another_server_has_no_story_edits_and_a_forged_one_is_refused(
    tmp_path: Path,
) -> None:
    plant(tmp_path / "store")
    async with StandIn() as d:
        other = d.add_guild("Other Server")
        other_mod = d.add_member(
            "other-moderator", permissions=Perm.MANAGE_MESSAGES, guild_id=other
        )
        d.add_channel("other-news", guild_id=other)
        async with news_bot(tmp_path, stand_in=d) as env:
            newsroom = {c["name"]: c for c in d.commands(d.guild_id)}
            group = newsroom["story"]
            assert int(group["default_member_permissions"]) == Perm.MANAGE_MESSAGES
            assert group["contexts"] == [0] and group["integration_types"] == [0]
            assert {o["name"] for o in group["options"]} == {"split", "merge"}
            assert "story" not in {c["name"] for c in d.commands(other)}
            assert "story" not in {c["name"] for c in d.commands() if _is_editors(c)}
            before = await stories(env.store, ALL)

            forged = await d.slash(
                "story",
                {"article": "paper"},
                subcommand="split",
                user_id=other_mod,
                guild_id=other,
                registered_in=d.guild_id,
            )
            text = answered_privately(forged)
            assert text.startswith(OUTSIDE) and "this server is not it" in text
            offered = await d.autocomplete(
                "story",
                {},
                "article",
                subcommand="split",
                user_id=other_mod,
                guild_id=other,
                registered_in=d.guild_id,
            )
            assert offered == []

            assert await stories(env.store, ALL) == before
            assert await pins(env.store, ALL) == dict.fromkeys(ALL)
            who, where = f"other-moderator ({other_mod})", f"outside the newsroom (server {other})"
            assert await trail(env.store) == [("refused story split", "paper", who, where)]


def _is_editors(command: dict[str, Any]) -> bool:
    """A global /story with the editors' subcommands (the readers' may share the name)."""
    return {o["name"] for o in command.get("options") or []} >= {"split", "merge"}


@pytest.mark.usefixtures("both_backends")
async def test_the_global_story_and_the_newsrooms_each_answer_their_own(tmp_path: Path) -> None:
    """In the newsroom both /story commands exist; each interaction reaches its own. The
    readers' global one is stood in for by a tiny group, whatever bot.cogs.stories is."""
    plant(tmp_path / "store")
    async with news_bot(tmp_path) as env:
        readers = app_commands.Group(name="story", description="A story's coverage")

        @readers.command(name="article", description="An article's story")
        async def article(interaction: discord.Interaction[Any], article: str) -> None:
            await interaction.response.send_message(f"the readers' story of {article}")

        env.bot.tree.add_command(reader_command()(readers), override=True)
        await env.bot.tree.sync()
        d = env.discord
        [global_story] = [c for c in d.commands() if c["name"] == "story"]
        [guild_story] = [c for c in d.commands(d.guild_id) if c["name"] == "story"]
        assert "guild_id" not in global_story and guild_story["guild_id"] == str(d.guild_id)

        read = await d.slash(
            "story",
            {"article": "paper"},
            subcommand="article",
            user_id=env.guild.moderator,
            global_command=True,
        )
        assert content(read) == "the readers' story of paper" and not read.ephemeral
        edit = await story(env, "split", env.guild.moderator, article="paper")
        assert answered_privately(edit).startswith("Split:")
        assert await env.store.story_pins.story_of("paper") == "paper"


@pytest.mark.usefixtures("both_backends")
async def test_the_answer_for_a_big_story_fits_one_message(tmp_path: Path) -> None:
    """Fourteen articles with long titles and ids: as many as fit are named, the rest
    counted, and the answer stays one message."""
    folder = tmp_path / "store"
    folder.mkdir()
    for n in range(14):
        name = f"{n:02d}-" + "long-id-" * 22  # 179 characters
        write_article(
            folder,
            name,
            title=f"Story {n} " + "with a very long headline *indeed* " * 8,
            webUrl=f"https://p{n}.example/{n}",
            originalUrl=DAM,
            publishedDateTime=f"2024-03-01T08:{n:02d}:00Z",
            published=True,
            provider={"name": "A provider with a long name " * 4, "domain": "p.example"},
        )
    async with news_bot(tmp_path) as env:
        first = f"00-{'long-id-' * 22}"
        text = answered_privately(await story(env, "split", env.guild.moderator, article=first))
        assert len(text) <= 2000
        lines = text.split("\n")
        named = [line for line in lines if line.startswith("- **Story")]
        assert 0 < len(named) < 13 and lines[-2] == f"- and {13 - len(named)} more"
        assert "\\*indeed\\*" in named[0] and "…" in named[0]  # escaped, and cut
        assert await env.store.story_pins.story_of(first) == first
