"""List answers (/news, /search, /drafts) as cards, and their page buttons."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any, cast

import discord

from bot import answers, cards, desk, ui
from bot.bot import NewsBot, handle_error
from bot.desk import Listing, ListKind
from bot.errors import ArticleNotFound
from bot.store import Store
from bot.ui import CUSTOM_ID_MAX, PublishButton, base36, ensure_moderator

PAGE_PREFIX = "newsbot:page:"


@dataclass(frozen=True, slots=True)
class PageTarget:
    """A page of a list answer, as a page button's custom_id holds it."""

    kind: ListKind
    owner: int  # the user who asked: only they may turn the pages
    page: int
    made: int  # unix seconds: the buttons work for PAGE_LIFETIME
    request: str  # [query, topic] as JSON, or "#key" of one saved in the store (too long)

    def custom_id(self) -> str:
        made = base36(self.made)
        return f"{PAGE_PREFIX}{self.kind}:{self.owner}:{self.page}:{made}:{self.request}"

    @classmethod
    def parse(cls, match: re.Match[str]) -> PageTarget | None:
        try:
            kind = ListKind(match["kind"])
        except ValueError:
            return None
        made = int(match["made"], 36)
        return cls(kind, int(match["owner"]), int(match["page"]), made, match["request"])

    async def fetch(self, store: Store) -> Listing:
        saved = await store.meta.recall(self.request[1:]) if self.request[:1] == "#" else None
        query, topic = json.loads(saved or self.request)
        if self.kind == ListKind.SEARCH:
            return await desk.search(store, query, topic or None, self.page)
        if self.kind == ListKind.DRAFTS:
            return await desk.drafts(store, self.page)
        return await desk.latest(store, topic or None, self.page)


class PageButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=re.compile(
        re.escape(PAGE_PREFIX)
        + r"(?P<kind>[a-z]+):(?P<owner>\d+):(?P<page>\d+):(?P<made>[0-9a-z]+):(?P<request>.*)"
    ),
):
    """Previous or Next over a list answer. All it needs is in its custom_id (what was
    asked, by whom, which page, when), so it works across restarts, for PAGE_LIFETIME,
    and costs no memory while idle. Only the invoker may press it."""

    def __init__(self, label: str, target: PageTarget | None, *, disabled: bool = False) -> None:
        self.target = target
        style = discord.ButtonStyle.primary if label == "Next" else discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(
                label=label,
                style=style,
                custom_id=target.custom_id() if target else f"{PAGE_PREFIX}gone",
                disabled=disabled,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> PageButton:
        label = item.label if isinstance(item, discord.ui.Button) and item.label else "Next"
        return cls(label, PageTarget.parse(match))

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if self.target is not None and interaction.user.id == self.target.owner:
            return True
        await interaction.response.send_message(
            "Only the person who asked can turn these pages; run the command yourself.",
            ephemeral=True,
        )
        return False

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: NewsBot = interaction.client
        target = self.target
        assert target is not None  # interaction_check refuses a button without one
        try:
            if bot.store.clock() - target.made > ui.PAGE_LIFETIME:
                await interaction.response.send_message(
                    "These buttons have expired; run the command again.", ephemeral=True
                )
                return
            if target.kind == ListKind.DRAFTS:
                await ensure_moderator(interaction, "drafts", "", "see drafts")
            listing = await target.fetch(bot.store)
            card = await listing_answer(bot.store, listing, target.owner, made=target.made)
            await turn_page(interaction, card)
        except Exception as exc:
            await handle_error(interaction, exc)


async def turn_page(interaction: discord.Interaction[Any], card: discord.ui.LayoutView) -> None:
    """Edit the list message into `card`. A card message stays a card (its Components V2
    flag cannot be removed); a list sent as an embed before cards (its buttons live a day)
    becomes one, its content and embed cleared as the flag requires."""
    message = interaction.message
    if message is None or message.flags.components_v2:
        await interaction.response.edit_message(view=card)
    else:
        await interaction.response.edit_message(content=None, embed=None, view=card)


async def listing_answer(
    store: Store, listing: Listing, owner: int, *, made: int | None = None
) -> discord.ui.LayoutView:
    """A list page as a card, with page buttons when there is more than one page (and a
    Publish button beside each draft). The card is stopped: no memory is kept for it; the
    buttons are dispatched by their custom_id (see `setup` in the cogs)."""
    page = listing.page
    number, has_next = page.page, page.has_next
    made = int(store.clock()) if made is None else made
    buttons: list[cards.Item] = []
    if number > 0 or has_next:
        request = json.dumps([listing.query, listing.topic or ""], ensure_ascii=False)
        target = PageTarget(listing.kind, owner, 0, made, request)
        if len(dataclasses.replace(target, page=number + 1).custom_id()) > CUSTOM_ID_MAX:
            target = dataclasses.replace(target, request="#" + await store.meta.remember(request))
        previous = dataclasses.replace(target, page=max(number - 1, 0))
        buttons.append(_item(PageButton("Previous", previous, disabled=number == 0)))
        following = dataclasses.replace(target, page=number + 1)
        buttons.append(_item(PageButton("Next", following, disabled=not has_next)))
    accessories: list[cards.Item | None] = []
    if listing.kind == ListKind.DRAFTS:
        for article in page.items:
            accessories.append(await _publish_button(store, article.id, made))
    return cards.results_card(
        answers.listing_heading(listing),
        page.items,
        page=number,
        has_next=has_next,
        accessories=accessories,
        buttons=buttons,
        more_sources=page.more_sources,
    )


async def _publish_button(store: Store, article_id: str, made: int) -> cards.Item | None:
    """A draft's Publish button, with its version as the page is made (read just after it:
    a later edit is refused); none for a draft gone meanwhile, or an id too long for it."""
    try:
        version = await store.articles.version(article_id)
    except ArticleNotFound:
        return None
    if not PublishButton.fits(article_id, version, made):
        return None
    return _item(PublishButton(article_id, version, made))


def _item(button: discord.ui.DynamicItem[Any]) -> cards.Item:
    """A dynamic button as a card's item (discord.py types them for either kind of view)."""
    return cast(cards.Item, button)


async def send_listing(
    interaction: discord.Interaction[Any], listing: Listing, *, ephemeral: bool = False
) -> None:
    """Answer a command with the first page of a list."""
    bot: NewsBot = interaction.client
    card = await listing_answer(bot.store, listing, interaction.user.id)
    await interaction.response.send_message(view=card, ephemeral=ephemeral)
