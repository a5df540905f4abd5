"""The words of every answer: errors, outcomes, status and feed lists.

Data from `desk` in, Discord Markdown (or an embed) out. The console prints the very
same answers through `plain_text`, so the bot and the console always say the same thing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import discord

from bot import embeds
from bot.articles import TOPIC_SEPARATOR, Article
from bot.desk import (
    FeedList,
    Followed,
    Listing,
    ListKind,
    PublishOutcome,
    Status,
)
from bot.digest import WEEKLY_ANCHOR, Digest, Every
from bot.errors import (
    AlreadyDone,
    ArticleNotFound,
    BadFilter,
    DeskUnavailable,
    FileChanged,
    FileInvalid,
    FileNotWritable,
    NewsError,
    NothingFound,
    PublishError,
    ServedByDuplicate,
    UnknownTopic,
)
from bot.status import HostsStatus, lease_lines, outbox_line, process_lines
from bot.store import (
    ChannelKind,
    DigestSubscription,
    Style,
    Subscription,
    Updates,
)

_EMPTY = {
    ListKind.LATEST: "No published articles yet. Check back soon.",
    ListKind.DRAFTS: "No drafts awaiting review.",
    ListKind.TOPICS: "No published articles yet, so no topics.",
    "subscriptions": "No channel here follows any topic yet. Add one with /feed add.",
}
# Why a forum is paused: shown in /status and /feed list like any other pause reason.
FORUM_NEEDS_A_TAG = (
    "this forum requires a tag on every post, and none of the article's topics is one of its "
    "tags (let the bot Manage Channels there to create them, or add the tags)"
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SHOWN_QUERY_MAX = 80
_SHOWN_TITLE_MAX = 200


def error_text(error: NewsError) -> str:
    """What a user is told about an expected failure (Markdown; inert user text)."""
    match error:
        case ArticleNotFound():
            return f"No article with id `{code_text(error.article_id)}`."
        case UnknownTopic():
            typed = embeds.clean(error.typed)
            hint = ""
            if error.suggestions:
                names = ", ".join(f"**{embeds.clean(s)}**" for s in error.suggestions)
                hint = f" Did you mean {names}?"
            return f"No articles with the topic “{typed}”.{hint} Try /topics."
        case NothingFound():
            return _nothing_found(error)
        case PublishError():
            return _publish_error(error)
        case DeskUnavailable():
            return "The news desk is briefly unavailable. Please try again in a minute."
        case BadFilter():
            return f"That filter cannot be used: {embeds.clean(error.reason)} Nothing was changed."
    return str(error)


def _nothing_found(error: NothingFound) -> str:
    if error.what == ListKind.SEARCH:
        shown = embeds.clean(embeds.shorten(error.query, _SHOWN_QUERY_MAX))
        return f"Nothing found for “{shown}”. Try fewer or other words."
    if error.what == "subscription":
        return f"<#{error.query}> has no such subscription. See /feed list."
    if error.what == "digest":
        return f"<#{error.query}> has no such digest. See /feed list."
    if error.what == "digest stories":
        about = f" about **{embeds.clean(error.topic)}**" if error.topic else ""
        span = "day" if error.query == Every.DAILY else "week"
        return f"Nothing to show: no story{about} was published in the last {span}. Nothing posted."
    return _EMPTY.get(error.what, "Nothing found.")


def _publish_error(error: PublishError) -> str:
    verb = "publish" if error.publish else "unpublish"
    article = f"`{code_text(error.article_id)}`"
    match error:
        case AlreadyDone():
            state = "already published" if error.publish else "not published (it is a draft)"
            return f"{article} is {state}."
        case ServedByDuplicate():
            return (
                f"{article} has the same webUrl as `{code_text(error.served_by)}`, which is served "
                f"instead; {verb} that one."
            )
        case FileChanged():
            return (
                f"{article} changed since it was read (or since your preview), so nothing was "
                "written. Look at it again with /preview, then publish what you reviewed."
            )
        case FileInvalid():
            reason = embeds.clean(embeds.shorten(error.reason, 300))
            return f"Cannot {verb} {article}: the file is not valid now ({reason})."
        case FileNotWritable():
            return (
                f"Cannot {verb} {article}: the file {embeds.clean(error.file)} could not be "
                f"written ({embeds.clean(error.reason)}). Nothing was changed."
            )
    return f"Cannot {verb} {article}."


def listing_heading(listing: Listing) -> str:
    """Raw text (it may hold the user's query): `embeds.results_embed` escapes it."""
    if listing.kind == ListKind.SEARCH:
        shown = embeds.shorten(listing.query, _SHOWN_QUERY_MAX)
        return f"Search: {shown}" + (f" in {listing.topic}" if listing.topic else "")
    if listing.kind == ListKind.DRAFTS:
        return "Drafts awaiting review"
    return f"Latest in {listing.topic}" if listing.topic else "Latest news"


def listing_embed(listing: Listing) -> discord.Embed:
    page = listing.page
    return embeds.results_embed(
        listing_heading(listing), page.items, page=page.page, has_next=page.has_next
    )


def published_text(outcome: PublishOutcome) -> str:
    title = title_of(outcome.article)
    queued = outcome.queued
    where = f"posting it to {queued} channel(s)" if queued else "no channel follows it yet"
    return f"Published **{title}**: {where}."


def withdrawn_text(article: Article) -> str:
    return (
        f"Withdrew **{title_of(article)}**: hidden from readers; its posts are being deleted. "
        "It is a draft again."
    )


def preview_text(article: Article) -> str:
    state = "published" if article.published else "a draft"
    return f"Preview of `{article.id}` ({state}); this is exactly what a post will look like:"


def followed_text(channel_mention: str, followed: Followed, role_mention: str | None) -> str:
    sub = followed.subscription
    what = "articles on every topic"
    if sub.topic:
        what = f"articles about **{embeds.clean(sub.topic)}**"
    extra = f" with quality ≥ {sub.min_quality}" if sub.min_quality else ""
    if sub.filter:
        extra += f" matching {filter_shown(sub.filter)}"
    ping = f", pinging {role_mention}" if role_mention else ""
    how = "".join(f", {part}" for part in _delivery_parts(sub))
    kept = " Posts already made keep their style." if followed.restyled else ""
    return f"{channel_mention} will receive new {what}{extra}{ping}{how}, from now on.{kept}"


def filter_shown(text: str) -> str:
    """A feed's filter as shown: its canonical text (letters, digits, `-`, `*` and spaces:
    never a backtick) in a code span, so `chip*` stays literal."""
    return f"`{code_text(text)}`"


STYLE_WORDS = {
    Style.CARD: "as cards",
    Style.EMBED: "as embeds",
    Style.LINK: "as one plain line each",
}


UPDATES_WORDS = {
    Updates.THREAD: "a story's later sources as replies in its thread",
    Updates.EDIT: "a story's later sources added to its post",
    Updates.NEW: "a story's later sources as posts of their own",
}


def _delivery_parts(sub: Subscription) -> list[str]:
    """How a feed is served: its style, then what differs from a plain message a post."""
    parts = [STYLE_WORDS[sub.style]]
    if sub.kind == ChannelKind.FORUM:
        parts.append("each as its own forum post")
    elif sub.kind == ChannelKind.ANNOUNCEMENT:
        parts.append("each crossposted to the servers that follow the channel")
    if sub.threads:
        parts.append("each with a discussion thread")
    if sub.silent:
        parts.append("silently (no notifications)")
    if sub.max_per_hour:
        parts.append(f"at most {sub.max_per_hour} an hour (the rest wait their turn)")
    if sub.updates is not None:  # the channel's default goes unsaid (docs/servers.md)
        parts.append(UPDATES_WORDS[sub.updates])
    return parts


def feeds_embed(feeds: FeedList) -> discord.Embed:
    lines: list[str] = []
    for sub in feeds.subscriptions:
        topic = embeds.clean(sub.topic) if sub.topic else "all topics"
        parts = [f"<#{sub.channel_id}>: {topic}"]
        if sub.min_quality:
            parts.append(f"quality ≥ {sub.min_quality}")
        if sub.filter:
            parts.append(f"filter {filter_shown(sub.filter)}")
        if sub.role_id:
            parts.append(f"pings <@&{sub.role_id}>")
        parts.extend(_delivery_parts(sub))
        if sub.paused_reason:
            parts.append(f"**paused**: {embeds.clean(sub.paused_reason)} (run /feed add to resume)")
        lines.append(TOPIC_SEPARATOR.join(parts))
    for digest in feeds.digests:
        parts = [f"<#{digest.channel_id}>: {_digest_summary(digest)}"]
        if digest.paused_reason:
            reason = embeds.clean(digest.paused_reason)
            parts.append(f"**paused**: {reason} (run /digest add to resume)")
        lines.append(TOPIC_SEPARATOR.join(parts))
    return discord.Embed(
        title="Feeds",
        description=embeds.shorten("\n".join(lines), 4096),
        colour=embeds.BRAND_COLOUR,
    )


def status_embed(status: Status) -> discord.Embed:
    counts, queue = status.counts, status.queue
    embed = discord.Embed(title="newsbot status", colour=embeds.BRAND_COLOUR)
    if status.held_back is not None:
        since = datetime.fromtimestamp(status.held_back.since, UTC)
        embed.add_field(
            name="Delivery",
            value=f"**held back** since {discord.utils.format_dt(since, 'T')} "
            f"({embeds.relative_time(since)}): the database is unreachable "
            f"({embeds.clean(embeds.shorten(status.held_back.reason, 300))}). "
            "Posting resumes by itself when it answers again.",
            inline=False,
        )
    if counts is None or queue is None:
        return embed  # the database could not be read: nothing more is known
    embed.add_field(
        name="Articles",
        value=f"{counts.articles} ({counts.published} published, {counts.drafts} drafts)",
    )
    embed.add_field(name="Delivery queue", value=f"{queue.waiting} waiting, {queue.failed} failed")
    embed.add_field(
        name="Personal alerts",  # counts only: nothing about a member is shown to others
        value=f"{status.follows} follows, {status.alerts_waiting} alerts waiting",
    )
    if status.hosts is not None:
        _hosts_fields(embed, status.hosts)
    last, bad = status.last_sync, status.bad_files
    if last:
        when = datetime.fromisoformat(last["at"]).astimezone(UTC)
        embed.add_field(
            name="Last store load",
            # The files bad now: an unchanged bad file is not re-read, so each rescan's
            # own error count drops to 0 while the file is still broken.
            value=f"{embeds.relative_time(when)}: {last['scanned']} files, "
            f"{last['loaded']} read, {len(bad)} bad",
            inline=False,
        )
    if bad:
        lines = [embeds.clean(embeds.shorten(error, 180)) for _, error in bad[:5]]
        more = f"\n…and {len(bad) - 5} more" if len(bad) > 5 else ""
        embed.add_field(name="Bad files", value="\n".join(lines) + more, inline=False)
    lines = []
    for channel in queue.channels[:15]:
        latest = f" ({channel.last_article})" if channel.last_article else ""
        posted = (
            embeds.relative_time(datetime.fromtimestamp(channel.last_post_at, UTC))
            if channel.last_post_at
            else "never"
        )
        paused = channel.paused_reason
        state = f" — **paused**: {embeds.clean(paused)}" if paused else ""
        lines.append(f"<#{channel.channel_id}>: last post {posted}{latest}{state}")
    if lines:
        embed.add_field(name="Channels", value=embeds.shorten("\n".join(lines), 1024), inline=False)
    if status.digests:
        embed.add_field(name="Digests", value=_digests_health(status.digests), inline=False)
    return embed


def _hosts_fields(embed: discord.Embed, hosts: HostsStatus) -> None:
    """The live processes and who holds each role, in `newsbot status`'s words."""

    def when(at: float) -> str:
        return embeds.relative_time(datetime.fromtimestamp(at, UTC))

    for name, lines in (
        ("Processes", process_lines(hosts.processes, when)),
        ("Roles", lease_lines(hosts, when)),
    ):
        shown = [embeds.clean(line) for line in lines[:10]]
        more = f"\n…and {len(lines) - 10} more" if len(lines) > 10 else ""
        embed.add_field(
            name=name, value=embeds.shorten("\n".join(shown), 1000) + more, inline=False
        )
    embed.add_field(name="Outbox", value=outbox_line(hosts.outbox), inline=False)


def _digests_health(digests: list[DigestSubscription]) -> str:
    lines = []
    for digest in digests[:10]:
        sent = digest.last_sent_at
        last = embeds.relative_time(datetime.fromtimestamp(sent, UTC)) if sent else "never"
        line = f"<#{digest.channel_id}>: {_digest_summary(digest)}, last sent {last}"
        if digest.paused_reason:
            line += f" — **paused**: {embeds.clean(digest.paused_reason)}"
        lines.append(line)
    more = f"\n…and {len(digests) - 10} more" if len(digests) > 10 else ""
    return embeds.shorten("\n".join(lines), 1000) + more


DIGEST_STYLE_WORDS = {
    Style.CARD: "as a card",
    Style.EMBED: "as an embed",
    Style.LINK: "as plain lines",
}


def _digest_summary(digest: DigestSubscription) -> str:
    """ "daily digest at 08:00 UTC · AI · top 5 · as a card" """
    day = f" on {_WEEKDAYS[WEEKLY_ANCHOR]}s" if digest.every == Every.WEEKLY else ""
    topic = embeds.clean(digest.topic) if digest.topic else "all topics"
    when = f"{digest.every} digest{day} at {digest.hour:02d}:00 UTC"
    return TOPIC_SEPARATOR.join(
        (when, topic, f"top {digest.size}", DIGEST_STYLE_WORDS[digest.style])
    )


def digest_added_text(channel_mention: str, digest: DigestSubscription, first: datetime) -> str:
    """`first`: when the first digest is due."""
    return (
        f"{channel_mention} will get a {_digest_summary(digest)}; "
        f"the first one {embeds.relative_time(first)}."
    )


def digest_removed_text(channel_mention: str, removed: int) -> str:
    return f"Removed {removed} digest(s) from {channel_mention}."


def digest_posted_text(channel_mention: str, digest: Digest) -> str:
    count = len(digest.stories)
    stories = "1 story" if count == 1 else f"{count} stories"
    return f"Posted the {digest.every} digest ({stories}) in {channel_mention}."


def cannot_post_text(channel_mention: str, missing: list[str]) -> str:
    """The bot lacks permissions in the channel (named) to post a feed or a digest there."""
    return (
        f"I can't post in {channel_mention}: I am missing {', '.join(missing)} there. "
        "Grant them to the bot's role in that channel, then try again."
    )


def refused_text(channel_mention: str, reason: str) -> str:
    """Discord refused a digest in the channel (Forbidden, Not Found)."""
    return f"Discord refused the digest in {channel_mention}: {embeds.clean(reason)}."


def title_of(article: Article) -> str:
    return embeds.clean(embeds.shorten(article.title, _SHOWN_TITLE_MAX))


def code_text(text: str) -> str:
    """Text inside a `code span` cannot be escaped: a backtick would end it."""
    return text.replace("`", "ˋ")
