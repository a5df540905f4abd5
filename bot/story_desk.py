"""What /story and the Follow story button do, once (as `desk` for the other commands):
plain async functions over a Store that return data, for the cogs and the console alike."""

from __future__ import annotations

from dataclasses import dataclass

from bot.articles import Article
from bot.errors import FollowRefused
from bot.providers import Mix, source_mix
from bot.store import MAX_FOLLOWS, Added, FollowKind, Store


@dataclass(frozen=True, slots=True)
class Story:
    """One story as /story shows it: its published articles, oldest first, and its mix."""

    articles: tuple[Article, ...]
    mix: Mix
    asked: str  # the id asked about: the timeline marks it


async def story(store: Store, article_id: str) -> Story:
    """The story of a published article (ArticleNotFound for a draft or an unknown id)."""
    articles = await store.timelines.of(article_id)
    mix = source_mix(articles, await store.providers.current())
    return Story(tuple(articles), mix, article_id.strip())


@dataclass(frozen=True, slots=True)
class StoryFollowed:
    article: Article
    added: Added  # ADDED, or ALREADY (the member follows this story, by any of its articles)


async def follow_story(store: Store, member_id: int, article_id: str) -> StoryFollowed:
    """Follow the story of a published article for the member (ArticleNotFound for a draft
    or an unknown id; FollowRefused past MAX_FOLLOWS, nothing saved)."""
    article = await store.articles.get(article_id)
    if await store.follows.follows_story_of(member_id, article.id):
        return StoryFollowed(article, Added.ALREADY)
    added = await store.follows.add(member_id, FollowKind.STORY, article.id, article.title)
    if added == Added.FULL:
        raise FollowRefused(
            f"You already follow {MAX_FOLLOWS} topics, searches and stories, the most there "
            "can be. Remove one with /unfollow (see /following), then follow this story."
        )
    return StoryFollowed(article, added)
