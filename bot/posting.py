"""One post, by the kind of channel it goes to: a message, a forum post, a crosspost, a thread.

The poster (cogs/poster.py) decides when; this module does the Discord part of each step.

A post looks as its outbox row's style says (`Style`): a Components V2 card (discord.py sets
the IS_COMPONENTS_V2 flag for a LayoutView, and then sends no content or embeds), the embed
and its link buttons, or one plain line. The row keeps the style its post was made in, so an
edit never turns a card into an embed (Discord refuses to drop the flag anyway).

Forum posts are made exactly once by reconciliation, not by nonce: Discord's
`POST /channels/{forum}/threads` takes no nonce, so the outbox records that a creation
went out (`Outbox.starting`) before it is sent, and any later try of that row first looks
for the thread among the guild's active threads, then the forum's archived ones: the bot's
own thread in that forum with that name whose starter message links this story (the embed's
link, the card's Read button, the plain line's link). Found, it is adopted;
only if it is not there is the thread created again.

Fencing: the database refuses a deliverer's writes once its lease is another's, but it
cannot refuse a Discord request. A delivery runs `guarded` by its lease check, and every
request discord.py makes inside it, its own retries after a 5xx or a short 429 included,
first calls that check (`request_trace`, installed as the client's `http_trace`): a process
frozen and resumed after a standby took over sends nothing more.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, Literal

import aiohttp
import discord

from bot import cards, coverage, embeds
from bot.articles import Article, topic_key
from bot.store import ChannelKind, Delivery, Followup, Role, Style, Updates
from bot.store.leases import Leases

StyleName = Literal["card", "embed", "link"]  # Style's values: /feed and /digest offer them
THREAD_NAME = 100  # Discord's limit on a thread's name
TAG_NAME = 20  # on a forum tag's name
TAGS_PER_POST = 5
TAGS_PER_FORUM = 20
TAG_REQUIRED = 40067  # "A tag is required to create a forum post in this channel"
ALREADY_CROSSPOSTED = 40033
THREAD_EXISTS = 160004  # "A thread has already been created for this message"
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
# A thread archived this long before its creation went out cannot be it: Discord's clock
# and ours may differ, so the archived search stops only well past that.
CLOCK_SKEW = timedelta(hours=1)

_guard: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "delivery_guard", default=None
)


@contextlib.contextmanager
def guarded(check: Callable[[], None]) -> Iterator[None]:
    """Inside: every Discord request first calls `check` (which raises, e.g. LeaseLost, when
    this process may no longer deliver); tasks started inside inherit it."""
    token = _guard.set(check)
    try:
        yield
    finally:
        _guard.reset(token)


def as_deliverer(leases: Leases) -> contextlib.AbstractContextManager[None]:
    """`guarded` by the deliverer's lease: what posts, digests and deletions run inside."""
    return guarded(lambda: leases.check(Role.DELIVERER))


def request_trace() -> aiohttp.TraceConfig:
    """The client's `http_trace`: calls the current delivery's guard as each request starts,
    the one point every request passes, discord.py's own retries included."""

    async def starting(
        session: aiohttp.ClientSession, context: SimpleNamespace, params: object
    ) -> None:
        check = _guard.get()
        if check is not None:
            check()

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(starting)
    return trace


class TagRequired(Exception):
    """The forum requires a tag and none of the article's topics is (or can become) one."""


def thread_name(article: Article) -> str:
    return embeds.shorten(article.title, THREAD_NAME)


def mentions(role_id: int | None) -> discord.AllowedMentions:
    """Nobody, or exactly the subscription's own role."""
    if role_id is None:
        return discord.AllowedMentions.none()
    return discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(role_id)], replied_user=False
    )


def ping(delivery: Delivery) -> str | None:
    return f"<@&{delivery.role_id}>" if delivery.role_id else None


def message_of(
    delivery: Delivery, article: Article, more: Sequence[Article] = ()
) -> dict[str, Any]:
    """The post in the row's style, as discord.py's send, edit and create_thread take it:
    a card (the feed's ping, if any, in a text display above it; no content, no embeds),
    one line (the ping first), or the ping, the embed and its link buttons; with the
    story's `more` sources ("More coverage") in each."""
    above = ping(delivery)
    if delivery.style == Style.CARD:
        return {"view": cards.article_card(article, above=above, more=coverage.card_text(more))}
    if delivery.style == Style.LINK:
        return {"content": coverage.with_line(cards.link_line(article, above), more)}
    return {
        "content": above,
        "embed": coverage.add_field(embeds.article_embed(article), more),
        "view": embeds.article_view(article),
    }


def followup_of(delivery: Delivery) -> Followup:
    """What a post owes once sent: announcements are crossposted; `threads` opens one."""
    if delivery.kind == ChannelKind.ANNOUNCEMENT:
        return Followup.CROSSPOST
    if delivery.kind == ChannelKind.TEXT and delivery.threads:
        return Followup.THREAD
    return Followup.NONE


async def forum_of(client: discord.Client, channel_id: int) -> discord.ForumChannel:
    """From the cache, else asked of Discord (a guild on another process's shards)."""
    channel = client.get_channel(channel_id) or await client.fetch_channel(channel_id)
    if not isinstance(channel, discord.ForumChannel):
        raise discord.ClientException(f"channel {channel_id} is no longer a forum")
    return channel


async def forum_tags(
    forum: discord.ForumChannel, topics: tuple[str, ...]
) -> list[discord.ForumTag]:
    """The forum's tags named like the article's topics (case-insensitively), in topic order,
    at most 5; missing ones are created when the bot may manage the forum (at most 20).
    Raises TagRequired when the forum requires a tag and none fits."""
    wanted: dict[str, str] = {}
    for topic in topics:
        wanted.setdefault(topic_key(topic), topic)
    have = {topic_key(t.name): t for t in forum.available_tags}
    missing = [name for key, name in wanted.items() if key not in have and len(name) <= TAG_NAME]
    fitting = sum(1 for key in wanted if key in have)
    room = min(TAGS_PER_POST - fitting, TAGS_PER_FORUM - len(have))
    if missing and room > 0 and forum.permissions_for(forum.guild.me).manage_channels:
        new = [discord.ForumTag(name=name) for name in missing[:room]]
        edited = await forum.edit(available_tags=[*forum.available_tags, *new])
        if isinstance(edited, discord.ForumChannel):
            have = {topic_key(t.name): t for t in edited.available_tags}
    chosen = [have[key] for key in wanted if key in have][:TAGS_PER_POST]
    if not chosen and forum.flags.require_tag:
        raise TagRequired
    return chosen


async def find_thread(
    forum: discord.ForumChannel, name: str, url: str, since: datetime
) -> int | None:
    """The bot's own thread in `forum` named `name` whose starter message links `url`: among
    the guild's active threads, then the forum's public archived ones (a post archived before
    this retry is still the post), latest archived first, until they were archived before
    `since`, when the creation went out: no thread made by it can be older."""
    for thread in await forum.guild.active_threads():
        if thread.parent_id == forum.id and await _is_the_post(thread, name, url):
            return thread.id
    async for thread in forum.archived_threads(limit=None):
        archived = thread.archive_timestamp
        if archived is not None and archived < since - CLOCK_SKEW:
            break
        if await _is_the_post(thread, name, url):
            return thread.id
    return None


async def _is_the_post(thread: discord.Thread, name: str, url: str) -> bool:
    """Started by the bot, named `name`, its first message linking `url`: a member's thread,
    or the bot's post of another story with the same headline, is not it."""
    if thread.owner_id != thread.guild.me.id or thread.name != name:
        return False
    try:
        starter = await thread.fetch_message(thread.id)
    except discord.NotFound:
        return False
    return links_story(starter, url)


def links_story(message: discord.Message, url: str) -> bool:
    """The message is a post of the story at `url`, in any style: an embed linking it, a
    line ending with its link, or a card whose Read button links it (a card links related
    coverage as text only: another story's card citing this one is not its post)."""
    if any(embed.url == url for embed in message.embeds) or f"<{url}>" in message.content:
        return True
    if not message.flags.components_v2:
        return False  # an embed's link buttons include its related coverage
    return any(_link_button(component.to_dict(), url) for component in message.components)


def _link_button(component: Mapping[str, Any], url: str) -> bool:
    """The component, or one inside it, is a link button to `url`."""
    if component.get("style") == discord.ButtonStyle.link.value and component.get("url") == url:
        return True
    inner = [*(component.get("components") or ()), component.get("accessory")]
    return any(_link_button(child, url) for child in inner if isinstance(child, Mapping))


async def post_to_forum(
    forum: discord.ForumChannel, delivery: Delivery, article: Article, more: Sequence[Article]
) -> int:
    """Create the forum post: the headline as the thread's name, tags from the topics, the
    post (card, embed and buttons, or line) as its first message. Its id is the thread's
    (and the message's)."""
    tags = await forum_tags(forum, article.topics)
    created = await forum.create_thread(
        name=thread_name(article),
        applied_tags=tags,
        allowed_mentions=mentions(delivery.role_id),
        silent=delivery.silent,
        **message_of(delivery, article, more),
    )
    return created.thread.id


async def send_message(
    channel: discord.PartialMessageable,
    delivery: Delivery,
    article: Article,
    nonce: str,
    more: Sequence[Article] = (),
) -> int:
    """A message in the row's style, with its nonce: a repeat returns the one stored."""
    message = await channel.send(
        nonce=nonce,
        allowed_mentions=mentions(delivery.role_id),
        silent=delivery.silent,
        **message_of(delivery, article, more),
    )
    return message.id


async def send_reply(
    client: discord.Client, thread_id: int, delivery: Delivery, article: Article, nonce: str
) -> int:
    """A story's later source in its thread: in the row's style, pinging no one, silent."""
    quiet = dataclasses.replace(delivery, role_id=None, silent=True)
    return await send_message(client.get_partial_messageable(thread_id), quiet, article, nonce)


async def edit_post(
    client: discord.Client, delivery: Delivery, article: Article, more: Sequence[Article] = ()
) -> None:
    """Edit the post in place, in the style it was made in (the ping stays as it was, and
    an edit pings no one anew)."""
    message_id = delivery.message_id
    assert message_id is not None
    if delivery.thread_id is not None:  # a reply: never a ping
        delivery = dataclasses.replace(delivery, role_id=None)
    channel = client.get_partial_messageable(message_channel(delivery))
    message = channel.get_partial_message(message_id)
    await message.edit(
        allowed_mentions=mentions(delivery.role_id), **message_of(delivery, article, more)
    )


async def follow_up(client: discord.Client, delivery: Delivery, article: Article) -> None:
    """Crosspost the announcement, or open the post's discussion thread; one already done
    (a lost answer, a restart) counts as done."""
    assert delivery.message_id is not None
    if delivery.followup != Followup.CROSSPOST:
        await open_thread(client, delivery.channel_id, delivery.message_id, article)
        return
    channel = client.get_channel(delivery.channel_id) or await client.fetch_channel(
        delivery.channel_id
    )
    if not isinstance(channel, discord.TextChannel):
        raise discord.ClientException(f"channel {delivery.channel_id} is no text channel now")
    try:
        await channel.get_partial_message(delivery.message_id).publish()
    except discord.HTTPException as exc:
        if exc.code != ALREADY_CROSSPOSTED:
            raise


async def open_thread(
    client: discord.Client, channel_id: int, message_id: int, article: Article
) -> None:
    """The discussion thread on a text (or announcement) post, named after its article; one
    already there (a lost answer, a restart, the post's own thread) counts as opened."""
    # A thread needs the guild the message is in: the cached channel (or Discord's) knows it.
    channel = client.get_channel(channel_id) or await client.fetch_channel(channel_id)
    if not isinstance(channel, discord.TextChannel):
        raise discord.ClientException(f"channel {channel_id} is no text channel now")
    try:
        await channel.get_partial_message(message_id).create_thread(name=thread_name(article))
    except discord.HTTPException as exc:
        if exc.code != THREAD_EXISTS:
            raise


async def delete_post(client: discord.Client, delivery: Delivery) -> None:
    """A message is deleted; a forum post's thread too when the bot has Manage Threads
    there (asked first: a refusal would count against the bot), else its first message."""
    assert delivery.message_id is not None
    if delivery.kind == ChannelKind.FORUM and delivery.thread_id is None:
        thread = client.get_channel(delivery.message_id) or await client.fetch_channel(
            delivery.message_id
        )
        parent = thread.parent if isinstance(thread, discord.Thread) else None
        if parent is not None and parent.permissions_for(parent.guild.me).manage_threads:
            assert isinstance(thread, discord.Thread)
            await thread.delete()
            return
    where = message_channel(delivery)
    await client.get_partial_messageable(where).get_partial_message(delivery.message_id).delete()


def in_own_thread(delivery: Delivery) -> bool:
    """The row's post is a forum post, or a reply in a story's thread: its requests go to a
    thread, so a 404 "unknown channel" there means the post is gone, not the channel."""
    forum_post = delivery.kind == ChannelKind.FORUM and delivery.message_id is not None
    reply = delivery.lead_id is not None and delivery.updates == Updates.THREAD
    return forum_post or reply or delivery.thread_id is not None


def message_channel(delivery: Delivery) -> int:
    """Where the post's message lives: a reply's in its thread, a forum post's in its own
    thread (same id)."""
    if delivery.thread_id is not None:
        return delivery.thread_id
    if delivery.kind == ChannelKind.FORUM and delivery.message_id is not None:
        return delivery.message_id
    return delivery.channel_id
