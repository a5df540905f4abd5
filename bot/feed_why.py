"""What happened to one story in one channel (`/feed why`), decided from what the store
knows: the story's outbox row there, else the channel's feeds checked as queueing checks
them. Pure: `desk.why` reads the facts, this module decides, `why_answers.why_text` words it.

The row, when there is one, says it all: posted, queued (when due), paced (until when),
paused, failed, withdrawn. Without a row, the story was never queued there, and each of the
channel's feeds is checked in the order queueing checks it: its topic, its `min_quality`,
its filter (which word), then whether the story became visible before the feed was added
(stories published from then on). The feed that got furthest is the answer (the first
such feed on a tie): a channel with an AI feed and a filtered all-topics feed answers for
the filter when the story is not about AI. A story every check lets through was missed:
the channel was paused when it was published (what a pause skips is not sent afterwards).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum
from typing import Any

from bot.articles import Article, topic_key
from bot.filters import Miss, miss
from bot.matcher import Story
from bot.store import ChannelKind, DeliveryState, PostRecord, Subscription, Updates

PACING = "max_per_hour"  # how the poster's reason for a paced row begins (Poster._paced)


class Fate(StrEnum):
    POSTED = "posted"
    GREW = "grew"  # a later source edited into its story's post there ("More coverage")
    QUEUED = "queued"
    PACED = "paced"
    PAUSED = "paused"
    FAILED = "failed"  # the post failed (e.g. deleted by hand), the channel not paused
    WITHDRAWN = "withdrawn"  # unpublished: its post deleted (or to be)
    NOT_PUBLISHED = "not published"  # a draft: nothing is posted until it is published
    DUPLICATE = "duplicate"  # another file with the same webUrl serves the story
    NOT_FOLLOWED = "not followed"  # the channel has no feed
    OTHER_TOPIC = "other topic"
    BELOW_QUALITY = "below quality"
    FILTERED = "filtered"
    BEFORE_FEED = "before feed"  # visible before the feed was added
    MISSED = "missed"  # let through by every check, yet not queued: paused back then


class _Stage(IntEnum):
    """How far a story gets through one feed's checks, in queueing's order."""

    TOPIC = 0
    QUALITY = 1
    FILTER = 2
    THROUGH = 3


@dataclass(frozen=True, slots=True)
class Why:
    """The answer to `/feed why`; which fields are set depends on `fate`."""

    fate: Fate
    article: Article
    channel_id: int
    guild_id: int
    at: int | None = None  # posted at, due at, paced until, became visible at (unix s)
    message_id: int | None = None  # POSTED: the message, or a forum post's thread
    thread: bool = False  # the message id is a forum post's thread
    thread_id: int | None = None  # POSTED: a reply, in this thread of the story's post
    reason: str = ""  # PAUSED, FAILED: why; QUEUED: why it waits (a failed try, a rate limit)
    served_by: str = ""  # DUPLICATE: the file that serves the story
    feed: Subscription | None = None  # the feed that decided (OTHER_TOPIC ... BEFORE_FEED)
    miss: Miss | None = None  # FILTERED: the word


def from_post(post: PostRecord, base: Why, paused: str | None, now: int) -> Why:
    """What the story's outbox row in the channel says (`base` holds article and channel)."""
    s, thread = post.state, post.kind == ChannelKind.FORUM
    if post.lead_id is not None and post.updates == Updates.EDIT and s == DeliveryState.SENT:
        return _with(base, Fate.GREW, message_id=post.post_message_id, thread=thread)
    if s in (DeliveryState.SENT, DeliveryState.EDIT) and post.message_id is not None:
        if post.thread_id is not None:  # a reply in the story's thread
            at, message_id, thread_id = post.sent_at, post.message_id, post.thread_id
            return _with(base, Fate.POSTED, at=at, message_id=message_id, thread_id=thread_id)
        if not base.article.published:  # withdrawn; its post shows the story's other sources
            return _with(base, Fate.WITHDRAWN, message_id=post.message_id, thread=thread)
        return _with(base, Fate.POSTED, at=post.sent_at, message_id=post.message_id, thread=thread)
    if s in (DeliveryState.DELETE, DeliveryState.DELETED):
        return _with(base, Fate.WITHDRAWN)
    if paused is not None:
        return _with(base, Fate.PAUSED, reason=paused)
    if s == DeliveryState.FAILED:
        return _with(base, Fate.FAILED, reason=post.last_error or "")
    if post.next_try_at > now and (post.last_error or "").startswith(PACING):
        return _with(base, Fate.PACED, at=post.next_try_at)
    # A row waiting after a failed try or a long rate limit keeps what Discord said.
    return _with(base, Fate.QUEUED, at=max(post.next_try_at, now), reason=post.last_error or "")


def from_feeds(
    feeds: list[Subscription], base: Why, visible_since: int | None, paused: str | None
) -> Why:
    """Never queued in the channel: why not, from its feeds (see the module's docstring)."""
    if not feeds:
        return _with(base, Fate.NOT_FOLLOWED)
    story = Story.of(base.article)
    checked = [(_check(feed, base.article, story), feed) for feed in feeds]
    through = [feed for (stage, _), feed in checked if stage == _Stage.THROUGH]
    if through:
        # The same second counts as before: a feed added first would have had it queued.
        late = [f for f in through if visible_since is not None and visible_since <= f.created_at]
        if len(late) == len(through):
            return _with(base, Fate.BEFORE_FEED, at=visible_since, feed=late[0])
        if paused is not None:
            return _with(base, Fate.PAUSED, reason=paused)
        return _with(base, Fate.MISSED, feed=through[0])
    (stage, found), feed = max(checked, key=lambda c: c[0][0])  # max: the first of equals
    fate = {
        _Stage.TOPIC: Fate.OTHER_TOPIC,
        _Stage.QUALITY: Fate.BELOW_QUALITY,
        _Stage.FILTER: Fate.FILTERED,
    }[stage]
    return _with(base, fate, feed=feed, miss=found)


def _check(feed: Subscription, article: Article, story: Story) -> tuple[_Stage, Miss | None]:
    """How far the story gets through the feed's checks, and the filter's word if it stops
    there. The same checks as `Outbox.enqueue`: the topic by key, quality, the filter."""
    if feed.topic and topic_key(feed.topic) not in {topic_key(t) for t in article.topics}:
        return _Stage.TOPIC, None
    if article.quality < feed.min_quality:
        return _Stage.QUALITY, None
    found = miss(feed.filter, story) if feed.filter else None
    if found is not None:
        return _Stage.FILTER, found
    return _Stage.THROUGH, None


def _with(base: Why, fate: Fate, **fields: Any) -> Why:
    return replace(base, fate=fate, **fields)
