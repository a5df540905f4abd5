"""Proves the stand-in's forums, threads, crossposts and message flags against real
discord.py: what Discord accepts comes back as discord.py's objects, what it refuses as
the errors (status and JSON code) Discord answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest

from tests.support.stand_in import Perm, StandIn, running_bot

SILENT, CROSSPOSTED = 1 << 12, 1 << 0


@pytest.fixture
async def discord_and_client() -> AsyncIterator[tuple[StandIn, discord.Client]]:
    async with StandIn() as d:
        client = discord.Client(intents=discord.Intents.default(), max_ratelimit_timeout=30)
        async with running_bot(client, d):
            yield d, client


async def forum_of(client: discord.Client, d: StandIn, channel_id: int) -> discord.ForumChannel:
    await d.wait_for(lambda: client.get_channel(channel_id) is not None)
    forum = client.get_channel(channel_id)
    assert isinstance(forum, discord.ForumChannel)
    return forum


async def refused(coroutine: object, status: int, code: int) -> None:
    with pytest.raises(discord.HTTPException) as caught:
        await coroutine  # type: ignore[misc]
    assert (caught.value.status, caught.value.code) == (status, code)


async def test_a_forum_post_is_a_thread_whose_starter_message_has_its_id(
    discord_and_client: tuple[StandIn, discord.Client],
) -> None:
    d, client = discord_and_client
    forum = await forum_of(client, d, d.add_forum("forum", tags=["AI", "Space"]))
    assert [t.name for t in forum.available_tags] == ["AI", "Space"]
    made = await forum.create_thread(
        name="Headline", content="first", applied_tags=forum.available_tags[:1], silent=True
    )
    assert made.thread.id == made.message.id and made.thread.parent_id == forum.id
    assert [t.name for t in made.thread.applied_tags] == ["AI"]
    [shown] = d.threads(forum.id)
    assert shown["message"]["content"] == "first" and shown["message"]["flags"] & SILENT
    await refused(forum.create_thread(name="x" * 101, content="long"), 400, 50035)
    tags = [discord.ForumTag(name=f"t{n}") for n in range(6)]
    await refused(forum.create_thread(name="six", content="tags", applied_tags=tags), 400, 50035)
    await refused(forum.create_thread(name="no message"), 400, 50006)
    assert len(d.threads(forum.id)) == 1


async def test_a_forum_that_requires_a_tag_refuses_a_post_without_one(
    discord_and_client: tuple[StandIn, discord.Client],
) -> None:
    d, client = discord_and_client
    forum = await forum_of(client, d, d.add_forum("strict", tags=["AI"], require_tag=True))
    assert forum.flags.require_tag
    await refused(forum.create_thread(name="untagged", content="x"), 400, 40067)
    await forum.create_thread(name="tagged", content="x", applied_tags=forum.available_tags)
    assert [t["name"] for t in d.threads(forum.id)] == ["tagged"]


async def test_forum_tags_are_created_with_manage_channels_and_at_most_twenty(
    discord_and_client: tuple[StandIn, discord.Client],
) -> None:
    d, client = discord_and_client
    plain = await forum_of(client, d, d.add_forum("plain"))
    await refused(plain.create_tag(name="AI"), 403, 50013)
    managed = await forum_of(client, d, d.add_forum("managed", bot_allow=Perm.MANAGE_CHANNELS))
    tag = await managed.create_tag(name="AI")
    assert [t["name"] for t in d.forum_tags(managed.id)] == ["AI"] and tag.id
    await refused(managed.create_tag(name="x" * 21), 400, 50035)
    many = [discord.ForumTag(name=f"t{n}") for n in range(21)]
    await refused(managed.edit(available_tags=many), 400, 50035)


async def test_deleting_a_thread_needs_manage_threads(
    discord_and_client: tuple[StandIn, discord.Client],
) -> None:
    d, client = discord_and_client
    forum = await forum_of(client, d, d.add_forum("forum"))
    made = await forum.create_thread(name="Doomed", content="x")
    await refused(made.thread.delete(), 403, 50013)
    allowed = await forum_of(client, d, d.add_forum("allowed", bot_allow=Perm.MANAGE_THREADS))
    gone = await allowed.create_thread(name="Gone", content="x")
    await gone.thread.delete()
    assert d.threads(allowed.id) == [] and len(d.threads(forum.id)) == 1
    await refused(gone.thread.fetch_message(gone.message.id), 404, 10003)


async def test_a_message_gets_one_thread(
    discord_and_client: tuple[StandIn, discord.Client],
) -> None:
    d, client = discord_and_client
    text_id = d.add_channel("news")
    await d.wait_for(lambda: client.get_channel(text_id) is not None)
    text = client.get_channel(text_id)
    assert isinstance(text, discord.TextChannel)
    message = await text.send("hello")
    thread = await message.create_thread(name="Talk")
    assert thread.id == message.id and d.threads(text.id)[0]["name"] == "Talk"
    await refused(message.create_thread(name="Again"), 400, 160004)


async def test_crossposts_once_only_in_announcement_channels_ten_an_hour(
    discord_and_client: tuple[StandIn, discord.Client],
) -> None:
    d, client = discord_and_client
    text_id, desk_id = d.add_channel("news"), d.add_announcement("desk")
    await d.wait_for(lambda: client.get_channel(desk_id) is not None)
    text, desk = client.get_channel(text_id), client.get_channel(desk_id)
    assert isinstance(text, discord.TextChannel) and isinstance(desk, discord.TextChannel)
    assert desk.is_news()
    await refused((await text.send("plain")).publish(), 400, 50024)
    sent = [await desk.send(f"bulletin {n}") for n in range(11)]
    await sent[0].publish()
    await refused(sent[0].publish(), 400, 40033)
    for message in sent[1:10]:
        await message.publish()
    with pytest.raises(discord.RateLimited) as limited:
        await sent[10].publish()
    assert 3500 < limited.value.retry_after <= 3600
    d.advance(3600)
    await sent[10].publish()
    assert all(m["flags"] & CROSSPOSTED for m in d.messages(desk_id))


async def test_archived_and_member_started_threads_as_discord_lists_them(
    discord_and_client: tuple[StandIn, discord.Client],
) -> None:
    d, client = discord_and_client
    forum = await forum_of(client, d, d.add_forum("forum"))
    reader = d.add_member("reader")
    made = [await forum.create_thread(name=f"post {n}", content="x") for n in range(3)]
    theirs = d.member_forum_post(forum.id, reader, "member post", links="https://e.example/1")
    for thread in (made[0].thread, made[2].thread):
        d.archive_thread(thread.id)

    guild = forum.guild
    active = {t.id: t.owner_id for t in await guild.active_threads()}
    assert active == {made[1].thread.id: client.user.id, theirs: reader}  # type: ignore[union-attr]
    archived = [t async for t in forum.archived_threads(limit=None)]
    assert [t.id for t in archived] == [made[2].thread.id, made[0].thread.id]  # latest first
    assert all(t.archived for t in archived)
    starter = await guild.get_channel_or_thread(theirs).fetch_message(theirs)  # type: ignore[union-attr]
    assert starter.author.id == reader and starter.embeds[0].url == "https://e.example/1"

    d.delete_thread(made[1].thread.id)
    await refused(made[1].message.edit(content="gone"), 404, 10003)
