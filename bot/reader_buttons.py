"""The reader buttons of a story card (`bot.cards` puts them in its row): Related shows all
of a story's related coverage, ephemerally; Save sends the story's card to the member's
DMs, once per member and story; Follow story makes a story follow for the member (a DM
when a new source joins the story). Anyone may press them, on a post, an /article or
/story answer or (Related) the DM copy.

Each is a `DynamicItem`: the article id is in its custom_id, so it works on every post
ever made, across restarts, and costs no memory. The custom_id is not trusted: it names
a published article or the answer is one sentence that says no more (a draft's id is
answered like an unknown one, and nothing of a draft is ever shown or sent).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot import cards, desk, follow_answers, story_desk
from bot.articles import Article
from bot.bot import NewsBot, handle_error, reply_privately
from bot.delivery import nonce
from bot.desk import Saved
from bot.errors import ArticleNotFound

log = logging.getLogger(__name__)

CANNOT_DM = 50007  # Discord: "Cannot send messages to this user" (DMs closed to the bot)
NOT_AVAILABLE = "This story is not available: it was withdrawn, or never published."
SAVED = {
    Saved.SENT: "Saved to your DMs.",
    Saved.ALREADY: "Already in your DMs.",
}
DMS_CLOSED = (
    "I can't DM you: your DMs are closed for this server. Allow direct messages from "
    "server members (the server's Privacy Settings), then press Save again."
)


class DMsClosed(Exception):
    """The member does not accept the bot's direct messages."""


class RelatedButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=re.compile(re.escape(cards.RELATED_PREFIX) + r"(?P<id>.+)", re.DOTALL),
):
    """Related: the story's related coverage as a card, to whoever pressed it alone."""

    def __init__(self, article_id: str) -> None:
        self.article_id = article_id
        super().__init__(
            discord.ui.Button(label="Related", custom_id=cards.RELATED_PREFIX + article_id)
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RelatedButton:
        return cls(match["id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: NewsBot = interaction.client
        try:
            article = await desk.article(bot.store, self.article_id)
            await interaction.response.send_message(
                view=cards.related_card(article),
                ephemeral=True,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except ArticleNotFound:
            await reply_privately(interaction, NOT_AVAILABLE)
        except Exception as exc:
            await handle_error(interaction, exc)


class SaveButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=re.compile(re.escape(cards.SAVE_PREFIX) + r"(?P<id>.+)", re.DOTALL),
):
    """Save: the story's card in the member's DMs, once per member and story however often
    it is pressed (`desk.save`); closed DMs are said, and nothing is recorded."""

    def __init__(self, article_id: str) -> None:
        self.article_id = article_id
        super().__init__(discord.ui.Button(label="Save", custom_id=cards.SAVE_PREFIX + article_id))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> SaveButton:
        return cls(match["id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: NewsBot = interaction.client
        user = interaction.user
        try:
            # Opening the DM channel and sending are two round trips to Discord, after the
            # database's: past Discord's 3 s on a slow day. The answer follows, privately.
            await interaction.response.defer(ephemeral=True, thinking=True)

            async def send(article: Article) -> None:
                await send_to_dms(user, article)

            saved = await desk.save(bot.store, user.id, self.article_id, send)
            await reply_privately(interaction, SAVED[saved])
        except ArticleNotFound:
            await reply_privately(interaction, NOT_AVAILABLE)
        except DMsClosed:
            await reply_privately(interaction, DMS_CLOSED)
        except Exception as exc:
            await handle_error(interaction, exc)


class FollowStoryButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=re.compile(re.escape(cards.FOLLOW_STORY_PREFIX) + r"(?P<id>.+)", re.DOTALL),
):
    """Follow story: the member follows the story of the article in the custom_id (a
    published one, else nothing is saved), answered to them alone."""

    def __init__(self, article_id: str) -> None:
        self.article_id = article_id
        super().__init__(
            discord.ui.Button(
                label="Follow story", custom_id=cards.FOLLOW_STORY_PREFIX + article_id
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> FollowStoryButton:
        return cls(match["id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: NewsBot = interaction.client
        try:
            followed = await story_desk.follow_story(
                bot.store, interaction.user.id, self.article_id
            )
            await reply_privately(
                interaction,
                follow_answers.story_followed_text(followed, bot.settings.alerts_per_hour),
            )
        except ArticleNotFound:
            await reply_privately(interaction, NOT_AVAILABLE)
        except Exception as exc:
            await handle_error(interaction, exc)


async def send_to_dms(user: discord.User | discord.Member, article: Article) -> None:
    """The story's card in `user`'s DMs. Its nonce is made of member and story, and Discord
    enforces it: two presses racing past `desk.save`'s check (or two processes) make one
    message. DMs closed is DMsClosed."""
    channel = await user.create_dm()
    try:
        await channel.send(
            view=dm_card(article),
            nonce=nonce(f"save|{user.id}|{article.url}"),
            allowed_mentions=discord.AllowedMentions.none(),
        )
    except discord.Forbidden as exc:
        if exc.code == CANNOT_DM:
            raise DMsClosed from None
        raise


def dm_card(article: Article) -> cards.Card:
    """The DM copy of a story's card: as posted, less its Save button (it is saved: a
    press there would send the card to where it already is). Related stays."""
    return cards.article_card(article, save=False)
