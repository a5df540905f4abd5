"""What each command does, once: plain async functions over a Store that return data.

The cogs and the offline console are thin adapters over these, so the two can never
disagree. No Discord, no SQL, no wording: errors are raised as data (`bot.errors`),
results come back as dataclasses, and `bot.answers` / `bot.embeds` word them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.articles import Article, topic_key
from bot.digest import Digest, Every, compose, ending_at
from bot.errors import ArticleNotFound, BadFilter, DeskUnavailable, FollowRefused, NothingFound
from bot.feed_why import Fate, Why, from_feeds, from_post
from bot.filters import read_filter
from bot.follow_query import BadQuery, FollowQuery
from bot.status import HostsStatus, gather
from bot.store import (
    MAX_FOLLOWS,
    Added,
    ChannelKind,
    Counts,
    DigestRun,
    DigestSubscription,
    Follow,
    FollowKind,
    Page,
    QueueHealth,
    Store,
    Style,
    Subscription,
    Updates,
)


class ListKind(StrEnum):
    LATEST = "latest"
    SEARCH = "search"
    DRAFTS = "drafts"
    TOPICS = "topics"


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of a list answer, with what was asked (to word its heading)."""

    kind: ListKind
    page: Page
    topic: str | None = None  # the topic's display name
    query: str = ""


@dataclass(frozen=True, slots=True)
class Preview:
    article: Article
    version: str  # what its Publish button publishes, and nothing newer


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    article: Article
    queued: int  # channels the post is queued for


@dataclass(frozen=True, slots=True)
class HeldBack:
    """Delivery waits for the database: since when (unix seconds), and why."""

    since: float
    reason: str


@dataclass(frozen=True, slots=True)
class Status:
    """The store's health; only `held_back` when the database cannot be read."""

    counts: Counts | None
    queue: QueueHealth | None
    last_sync: dict[str, Any] | None
    bad_files: list[tuple[str, str]]  # files bad now: an unchanged bad file is not re-read
    digests: list[DigestSubscription]
    held_back: HeldBack | None = None
    follows: int = 0  # members' follows, counted (no member is named)
    alerts_waiting: int = 0  # alerts queued for members' DMs, counted
    hosts: HostsStatus | None = None  # the live processes, the roles' holders, the outbox


@dataclass(frozen=True, slots=True)
class Followed:
    """A subscription as `/feed add` left it, and whether it changed an existing one's style
    (its posts already made keep theirs)."""

    subscription: Subscription
    restyled: bool = False


@dataclass(frozen=True, slots=True)
class FeedList:
    """A server's subscriptions and digests (`/feed list`)."""

    subscriptions: list[Subscription]
    digests: list[DigestSubscription]


async def latest(store: Store, topic: str | None = None, page: int = 0) -> Listing:
    name = await store.articles.require_topic(topic, published=True) if topic else None
    found = await store.articles.latest(name, page)
    return _listed(Listing(ListKind.LATEST, found, name))


async def search(store: Store, query: str, topic: str | None = None, page: int = 0) -> Listing:
    name = await store.articles.require_topic(topic, published=True) if topic else None
    found = await store.articles.search(query, name, page)
    return _listed(Listing(ListKind.SEARCH, found, name, " ".join(query.split())))


async def drafts(store: Store, page: int = 0) -> Listing:
    return _listed(Listing(ListKind.DRAFTS, await store.articles.drafts(page)))


async def topics(store: Store) -> list[tuple[str, int]]:
    found = await store.articles.topics()
    if not found:
        raise NothingFound(ListKind.TOPICS)
    return found


async def article(store: Store, article_id: str) -> Article:
    """A published article, as readers may see it."""
    return await store.articles.get(article_id)


class Saved(StrEnum):
    """What a press of Save did."""

    SENT = "sent"  # the card went to the member's DMs now
    ALREADY = "already"  # it was sent before (an earlier press, or one racing this one)


async def save(
    store: Store, user_id: int, article_id: str, send: Callable[[Article], Awaitable[None]]
) -> Saved:
    """Send a published article to a member (`send`, e.g. to their DMs) once per member and
    story. Recorded only after `send` returned: a send that failed (DMs closed) records
    nothing, and the next press tries again. Two presses racing past the check both call
    `send`, which must make them one message (a nonce of member and story); the one that
    records second answers ALREADY. A draft, or an id of none, is ArticleNotFound."""
    found = await store.articles.get(article_id)
    if await store.saves.has(user_id, found.url):
        return Saved.ALREADY
    await send(found)
    try:
        recorded = await store.saves.add(user_id, found.url)
    except DeskUnavailable:  # sent, but not recorded: the member has it all the same
        return Saved.SENT
    return Saved.SENT if recorded else Saved.ALREADY


async def preview(store: Store, article_id: str) -> Preview:
    """Any live article, draft or not: what its post will look like, and its version."""
    article = await store.articles.get(article_id, include_hidden=True)
    return Preview(article, await store.articles.version(article.id))


async def publish(
    store: Store, article_id: str, actor: str, *, version: str | None = None
) -> PublishOutcome:
    """Publish a draft; with `version`, only if it is still the version that was shown."""
    published = await store.publishing.publish(article_id, actor, version=version)
    return PublishOutcome(published, await store.outbox.queued_channels(published.url))


async def unpublish(store: Store, article_id: str, actor: str) -> Article:
    return await store.publishing.unpublish(article_id, actor)


async def refuse(store: Store, actor: str, action: str, article_id: str, why: str) -> None:
    """A refused moderator action changes nothing but the audit trail."""
    await store.publishing.audit_refusal(actor, action, article_id, why)


async def status(store: Store, held_back: HeldBack | None = None) -> Status:
    """With delivery held back, the database may be away: that much is still said."""
    try:
        return Status(
            counts=await store.articles.counts(),
            queue=await store.outbox.health(),
            last_sync=await store.articles.last_sync(),
            bad_files=await store.articles.bad_files(),
            digests=await store.digests.subscriptions(),
            held_back=held_back,
            follows=await store.follows.count(),
            alerts_waiting=await store.alerts.waiting(),
            hosts=await gather(store),
        )
    except DeskUnavailable:
        if held_back is None:
            raise
        return Status(None, None, None, [], [], held_back)


async def follow(
    store: Store,
    channel_id: int,
    topic: str | None,
    *,
    actor: str,
    guild_id: int,
    role_id: int | None = None,
    min_quality: int = 0,
    kind: ChannelKind = ChannelKind.TEXT,
    silent: bool = False,
    max_per_hour: int = 0,
    threads: bool = False,
    style: Style | None = None,
    filter: str | None = None,
    updates: Updates | None = None,
) -> Followed:
    """Subscribe a channel (to a known topic, or all) from now on; resumes it if paused.
    `style` None: cards for a new subscription, an existing one keeps its style. `filter`
    as typed (`bot.filters.read_filter`): None keeps a feed's filter, `-` clears it; a
    query that cannot be saved is BadFilter, and nothing is saved."""
    try:
        filter_text = read_filter(filter)
    except BadQuery as error:
        raise BadFilter(str(error)) from None
    name = await store.articles.require_topic(topic) if topic else ""
    existing = await store.feeds.subscriptions(channel_id=channel_id)
    before = {topic_key(s.topic): s.style for s in existing}
    sub = await store.feeds.subscribe(
        channel_id,
        name,
        actor=actor,
        guild_id=guild_id,
        role_id=role_id,
        min_quality=min_quality,
        kind=kind,
        silent=silent,
        max_per_hour=max_per_hour,
        threads=threads,
        style=style,
        filter=filter_text,
        updates=updates,
    )
    was = before.get(topic_key(sub.topic))
    return Followed(sub, restyled=was is not None and was != sub.style)


async def unfollow(store: Store, channel_id: int, topic: str | None, *, guild_id: int) -> int:
    """Remove a channel's subscriptions (one topic, or all) among the guild's own; how many
    were removed."""
    removed = await store.feeds.unsubscribe(channel_id, topic, guild_id=guild_id)
    if not removed:
        raise NothingFound("subscription", str(channel_id))
    return removed


async def feeds(store: Store, guild_id: int) -> FeedList:
    found = FeedList(
        await store.feeds.subscriptions(guild_id=guild_id),
        await store.digests.subscriptions(guild_id=guild_id),
    )
    if not found.subscriptions and not found.digests:
        raise NothingFound("subscriptions")
    return found


async def why(
    store: Store, article_id: str, channel_id: int, *, guild_id: int, newsroom: bool = False
) -> Why:
    """What happened to a story (any of its files' ids) in one of the guild's channels:
    its post there if it was queued, else why it was not (`bot.feed_why`). Only the
    guild's own feeds count: an admin learns nothing of another server's. Outside the
    `newsroom`, a file readers cannot see is as unknown as to `/article` (a draft's title
    is the newsroom's), unless it was posted in that channel or another file serves its
    story to readers."""
    state = await store.reasons.story(article_id)
    if state is None or state.deleted:
        raise ArticleNotFound(article_id)
    post = await store.reasons.post(state.url, channel_id)
    if not (newsroom or state.visible or post is not None):
        serving = await store.reasons.story(state.duplicate_of or "")
        if serving is None or not serving.visible:
            raise ArticleNotFound(article_id)
    article = await store.articles.get(state.id, include_hidden=True)
    base = Why(Fate.POSTED, article, channel_id, guild_id)
    if state.duplicate_of is not None:
        return replace(base, fate=Fate.DUPLICATE, served_by=state.duplicate_of)
    paused = await store.feeds.paused_reason(channel_id)
    if post is not None:
        return from_post(post, base, paused, int(store.clock()))
    if not state.visible:
        return replace(base, fate=Fate.NOT_PUBLISHED)
    feeds = [
        s
        for s in await store.feeds.subscriptions(channel_id=channel_id)
        if s.guild_id in (guild_id, None)
    ]
    return from_feeds(feeds, base, state.visible_since, paused)


def sample_article(now: datetime) -> Article:
    """The built-in story `/feed test` posts: how a channel's posts will look, before real
    ones arrive. Its id is no file's, so it has no Related or Save button."""
    return Article(
        id="newsbot-sample",
        title="Sample story: this is how new stories will look here",
        url="https://example.com/newsbot/sample-story",
        published_at=now,
        excerpt=(
            "A sample, not news: each story a feed posts in this channel is a card like "
            "this one, with its headline, source, time, summary and a button to read it."
        ),
        provider_name="newsbot",
        provider_domain="example.com",
        topics=("Sample",),
    )


async def add_digest(
    store: Store,
    channel_id: int,
    topic: str | None,
    *,
    every: Every,
    hour: int,
    size: int,
    actor: str,
    guild_id: int,
    now: datetime,
    style: Style | None = None,
) -> DigestSubscription:
    """A channel's digest (of a known topic, or all), from its next due time; resumes the
    channel if paused. `style` None: a card for a new digest, an existing one keeps its own."""
    name = await store.articles.require_topic(topic) if topic else ""
    return await store.digests.add(
        channel_id,
        name,
        every=every,
        hour=hour,
        size=size,
        guild_id=guild_id,
        actor=actor,
        now=int(now.timestamp()),
        style=style,
    )


async def remove_digest(store: Store, channel_id: int, topic: str | None, *, guild_id: int) -> int:
    """Stop a channel's digests (one topic, or all) among the guild's own; how many."""
    removed = await store.digests.remove(channel_id, topic, guild_id=guild_id)
    if not removed:
        raise NothingFound("digest", str(channel_id))
    return removed


async def digest_now(
    store: Store, topic: str | None, every: Every, size: int, now: datetime
) -> Digest:
    """The digest of the day or week up to `now`; nothing to show is an answer of its own."""
    name = await store.articles.require_topic(topic) if topic else ""
    period = ending_at(every, now)
    digest = compose(every, name, period, await store.digests.stories(period, name), size)
    if not digest.stories:
        raise NothingFound("digest stories", every, name)
    return digest


async def scheduled_digest(store: Store, run: DigestRun) -> Digest:
    """What a logged (digest, period) shows; it may hold no story."""
    stories = await store.digests.stories(run.period, run.topic)
    return compose(run.every, run.topic, run.period, stories, run.size)


def _listed(listing: Listing) -> Listing:
    """A first page with nothing on it is an answer of its own ("nothing found")."""
    if not listing.page.items and listing.page.page == 0:
        raise NothingFound(listing.kind, listing.query, listing.topic)
    return listing


# --------------------------------------------------------------------------- follows


@dataclass(frozen=True, slots=True)
class FollowOutcome:
    """What `/follow` did: the follow as shown, and whether it was new."""

    kind: FollowKind
    shown: str  # the topic's name, or the query in its canonical form
    added: Added
    resumed: bool = False  # the member's paused follows were resumed


async def follow_personal(
    store: Store, member_id: int, topic: str | None, query: str | None
) -> FollowOutcome:
    """Follow a topic or a search for the member: `FollowRefused` (nothing saved) for a
    bad query, an unknown topic, both or neither given, or one follow too many."""
    if (topic is None) == (query is None):
        raise FollowRefused("Give a topic or a search to follow (one of the two).")
    if topic is not None:
        name = await store.articles.require_topic(topic, published=True)  # or UnknownTopic
        kind, text, shown = FollowKind.TOPIC, topic_key(name), name
    else:
        assert query is not None
        try:
            parsed = FollowQuery.parse(query)
        except BadQuery as exc:
            raise FollowRefused(str(exc)) from None
        kind, text, shown = FollowKind.QUERY, parsed.text, parsed.text
    paused = any(f.paused_reason for f in await store.follows.of(member_id))
    typed = name if topic is not None else " ".join((query or "").split())
    added = await store.follows.add(member_id, kind, text, typed)
    if added == Added.FULL:
        raise FollowRefused(
            f"You already follow {MAX_FOLLOWS} topics and searches, the most there can be. "
            "Remove one with /unfollow (see /following), then follow this one."
        )
    return FollowOutcome(kind, shown, added, resumed=paused)


async def following(store: Store, member_id: int) -> list[Follow]:
    """The member's own follows (nobody else's are ever read)."""
    return await store.follows.of(member_id)


UNFOLLOW_ALL = "all"


async def unfollow_personal(store: Store, member_id: int, which: str) -> int:
    """Remove one of the member's follows (its id, or its text as shown) or, with `all`,
    everything kept about them; how many follows went."""
    if which.strip().lower() == UNFOLLOW_ALL:
        return await store.follows.remove_all(member_id)
    mine = await store.follows.of(member_id)
    typed = " ".join(which.split()).casefold()
    for follow in mine:
        if which.strip() == str(follow.id) or typed in (follow.typed.casefold(), follow.text):
            return int(await store.follows.remove(member_id, follow.id))
    return 0
