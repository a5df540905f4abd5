"""The words of a member's own follows and alerts (/follow, /following, /unfollow, the
alert DMs): never shown to anyone but that member."""

from __future__ import annotations

from bot import answers, embeds
from bot.desk import FollowOutcome
from bot.store import MAX_FOLLOWS, Added, Follow, FollowKind
from bot.story_desk import StoryFollowed

DMS_CLOSED_REASON = "your DMs are closed to this bot, so alerts could not reach you"
NOTHING_FOLLOWED = "You follow nothing yet. Try `/follow topic:` or `/follow query:`."
TITLE_MAX = 150  # characters of a followed story's title shown
NOT_YOUR_FOLLOW = "That follow is not yours, or it is already gone. See /following."


def follow_line(follow: Follow) -> str:
    """One follow as the member sees it: a topic's name, or a search's canonical text."""
    if follow.kind == FollowKind.TOPIC:
        return f"topic **{embeds.clean(follow.typed)}**"
    if follow.kind == FollowKind.STORY:
        return f"story **{embeds.inert(follow.typed, TITLE_MAX)}**"
    return f"search `{answers.code_text(follow.text)}`"


def story_followed_text(followed: StoryFollowed, per_hour: int) -> str:
    """The Follow story button's answer."""
    title = embeds.inert(followed.article.title, TITLE_MAX)
    if followed.added == Added.ALREADY:
        return f"You already follow the story **{title}**."
    return (
        f"You now follow the story **{title}**: each new source that joins it comes to "
        f"your DMs (at most {per_hour} alerts an hour). See /following; /unfollow to stop."
    )


def personal_followed_text(outcome: FollowOutcome, per_hour: int) -> str:
    what = (
        f"topic **{embeds.clean(outcome.shown)}**"
        if outcome.kind == FollowKind.TOPIC
        else f"search `{answers.code_text(outcome.shown)}`"
    )
    if outcome.added == Added.ALREADY:
        text = f"You already follow the {what}."
    else:
        text = (
            f"You now follow the {what}: new stories that match come to your DMs "
            f"(at most {per_hour} an hour; more arrive together)."
        )
    if outcome.resumed:
        text += " Your paused follows are resumed: keep your DMs open to this bot."
    return text


def following_text(follows: list[Follow]) -> str:
    """/following: each follow numbered as its Remove button, and which are paused, why."""
    if not follows:
        return NOTHING_FOLLOWED
    lines = [f"**Your follows** ({len(follows)} of {MAX_FOLLOWS}; only you see them):"]
    lines += [f"{n}. {follow_line(f)}" for n, f in enumerate(follows, 1)]
    paused = next((f.paused_reason for f in follows if f.paused_reason), None)
    if paused:
        lines.append(
            f"⏸ **Paused**: {embeds.clean(paused)}. Open your DMs to this bot, then use "
            "/follow again to resume."
        )
    return "\n".join(lines)


def unfollowed_text(removed: int, everything: bool) -> str:
    if everything:
        return f"Removed all your follows ({removed}) and your alerts. Nothing of yours is kept."
    if not removed:
        return "You don't follow that. See /following."
    return "Removed that follow."


def more_stories_heading(count: int) -> str:
    """The heading of the message that carries the stories past the hourly alerts."""
    return f"{count} more {'story' if count == 1 else 'stories'} for your follows"
