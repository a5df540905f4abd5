"""The words of `/feed why` (what happened to one story in one channel) and `/feed test`."""

from __future__ import annotations

from datetime import UTC, datetime

import discord

from bot import answers, embeds
from bot.feed_why import Fate, Why
from bot.store import Subscription


def jump_link(guild_id: int, channel_id: int, message_id: int, *, thread: bool = False) -> str:
    """Discord's link to a message (a forum post: its thread)."""
    if thread:
        return f"https://discord.com/channels/{guild_id}/{message_id}"
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def why_text(why: Why) -> str:
    """`/feed why`'s answer: what happened to the story in the channel, in one sentence or two."""
    story, where = f"**{answers.title_of(why.article)}**", f"<#{why.channel_id}>"
    when = _when(why.at)
    feed = why.feed
    match why.fate:
        case Fate.POSTED if why.thread_id is not None and why.message_id is not None:
            link = jump_link(why.guild_id, why.thread_id, why.message_id)
            at = f" {when}" if when else ""
            return f"{story} was posted in {where}{at}, as a reply in its story's thread: {link}"
        case Fate.POSTED:
            return f"{story} was posted in {where}{' ' + when if when else ''}{_link(why)}"
        case Fate.GREW:
            return (
                f"{story} joined its story's post in {where} as more coverage (an edit: "
                f"nothing new was posted){_link(why)}"
            )
        case Fate.WITHDRAWN if why.message_id is not None:
            return (
                f"{story} was withdrawn (unpublished): its story's post in {where} now shows "
                f"the story's other sources{_link(why)}"
            )
        case Fate.QUEUED:
            retry = f" (after: {_reason(why.reason)})" if why.reason else ""
            return f"{story} is queued for {where}, due {when}{retry}."
        case Fate.PACED:
            return f"{story} waits its turn in {where} (max_per_hour): paced until {when}."
        case Fate.PAUSED:
            return (
                f"{where} is paused: {_reason(why.reason)}. {story} is not posted there; fix "
                "the cause and run /feed add to resume (what was published meanwhile is not "
                "sent afterwards)."
            )
        case Fate.FAILED:
            return f"The post of {story} in {where} failed: {_reason(why.reason)}."
        case Fate.WITHDRAWN:
            return f"{story} was withdrawn (unpublished): its post in {where} is deleted."
        case Fate.NOT_PUBLISHED:
            return f"{story} is not published (a draft): nothing is posted until it is."
        case Fate.DUPLICATE:
            return (
                f"`{answers.code_text(why.article.id)}` is not posted: "
                f"`{answers.code_text(why.served_by)}` has the same webUrl and serves the "
                "story instead. Ask about that one."
            )
        case Fate.NOT_FOLLOWED:
            return f"{where} follows no feed of this server, so nothing is posted there."
    return _why_not_queued(why, feed, story, where, when)


def _why_not_queued(why: Why, feed: Subscription | None, story: str, where: str, when: str) -> str:
    """The answers that name the feed which decided."""
    topic = f"**{embeds.clean(feed.topic)}**" if feed and feed.topic else "every topic"
    match why.fate:
        case Fate.OTHER_TOPIC:
            about = ", ".join(embeds.clean(t) for t in why.article.topics) or "no topic"
            return f"{where} follows {topic}; {story} is about {about}."
        case Fate.BELOW_QUALITY if feed is not None:
            return (
                f"{story} has quality {why.article.quality}, below the {feed.min_quality} "
                f"that {where}'s feed of {topic} asks for (min_quality)."
            )
        case Fate.FILTERED if why.miss is not None and feed is not None:
            term = answers.filter_shown(why.miss.term)
            lacks = "leaves out" if why.miss.excluded else "needs"
            has = "has" if why.miss.excluded else "does not have"
            return (
                f"{story} was filtered out of {where}: its filter "
                f"{answers.filter_shown(feed.filter)} {lacks} {term}, which the story {has}."
            )
        case Fate.BEFORE_FEED if feed is not None:
            added = _when(feed.created_at)
            return (
                f"{story} was published {when}, before {where}'s feed of {topic} was added "
                f"({added}): a feed receives the stories published from then on."
            )
    return (
        f"{story} matches {where}'s feed of {topic}, but was not queued when it was "
        "published: the channel was paused then (what a pause skips is not sent afterwards)."
    )


def sample_posted_text(channel_mention: str, link: str) -> str:
    return f"Posted a test card in {channel_mention}: {link}"


def refused_test_text(channel_mention: str, reason: str) -> str:
    """Discord refused the test card (permissions changed under us, a deleted channel)."""
    return f"Discord refused the test card in {channel_mention}: {_reason(reason)}."


TEST_ABOVE = "🧪 **Test post** (/feed test): a sample story, to check how posts look here."


def _link(why: Why) -> str:
    """The message's link after a colon, or nothing when there is no message."""
    if why.message_id is None:
        return ""
    return ": " + jump_link(why.guild_id, why.channel_id, why.message_id, thread=why.thread)


def _when(at: int | None) -> str:
    """A Discord timestamp each reader sees in their own zone, and how long ago or ahead."""
    if at is None:
        return ""
    moment = datetime.fromtimestamp(at, UTC)
    return f"{discord.utils.format_dt(moment, 'f')} ({embeds.relative_time(moment)})"


def _reason(text: str) -> str:
    return embeds.clean(embeds.shorten(text, 300))
