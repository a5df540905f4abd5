"""Moving a bot from SQLite to PostgreSQL (`newsbot migrate-db --to URL`).

The articles are loaded again from the store folder (the source of truth) first, while
the target has no subscriptions, so loading it queues nothing. Then what only the database knows is
copied: subscriptions, channel states, the audit trail, small facts (command digests,
remembered values), the delivery log, which says which message is which story's post, the
digests with their log, what members saved to their DMs, members' follows and alerts (so
no alert is sent twice), and when each story became visible
(what a digest's period holds). Each feed, post and digest keeps its style (a card stays a
card). So nothing is posted or saved again after the switch, and later edits and
withdrawals reach the old posts. Pictures come with the reloaded articles. Every copy skips
what the target already has: running it again changes nothing (a row the target still has
pending takes the source's later state).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.store.database import Database

# table -> (columns, conflict target, what to do on conflict)
_COPIES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "subscriptions": (
        (
            "channel_id",
            "topic_key",
            "guild_id",
            "topic_name",
            "role_id",
            "min_quality",
            "created_at",
            "created_by",
            "kind",
            "silent",
            "max_per_hour",
            "threads",
            "style",
            "filter",
        ),
        "(channel_id, topic_key)",
        "DO NOTHING",
    ),
    "channels": (
        ("channel_id", "paused_reason", "paused_at", "last_post_at", "last_article"),
        "(channel_id)",
        "DO NOTHING",
    ),
    "meta": (("key", "value"), "(key)", "DO NOTHING"),
    "remembered": (("key", "value", "saved_at"), "(key)", "DO NOTHING"),
    "outbox": (
        (
            "url",
            "article_id",
            "channel_id",
            "role_id",
            "state",
            "message_id",
            "attempts",
            "generation",
            "next_try_at",
            "last_error",
            "created_at",
            "sent_at",
            "kind",
            "silent",
            "max_per_hour",
            "threads",
            "followup",
            "started_at",
            "style",
        ),
        "(url, channel_id)",
        "DO UPDATE SET state = excluded.state, message_id = excluded.message_id, "
        "generation = excluded.generation, sent_at = excluded.sent_at, "
        "followup = excluded.followup, started_at = excluded.started_at "
        "WHERE outbox.state = 'pending' AND excluded.state <> 'pending'",
    ),
    "digests": (
        (
            "channel_id",
            "topic_key",
            "guild_id",
            "topic_name",
            "cadence",
            "hour_utc",
            "size",
            "created_at",
            "created_by",
            "style",
        ),
        "(channel_id, topic_key)",
        "DO NOTHING",
    ),
    "digest_log": (
        (
            "channel_id",
            "topic_key",
            "period_key",
            "starts_at",
            "due_at",
            "state",
            "message_id",
            "stories",
            "attempts",
            "next_try_at",
            "last_error",
            "created_at",
            "settled_at",
        ),
        "(channel_id, topic_key, period_key)",
        "DO NOTHING",
    ),
    "saves": (("user_id", "url", "saved_at"), "(user_id, url)", "DO NOTHING"),
    # Members' follows and alerts keep their ids: a batch names its first alert's id.
    "follows": (
        ("id", "member_id", "kind", "text", "typed", "created_at", "paused_reason"),
        "",  # any of its keys: the id, or (member, kind, text)
        "DO NOTHING",
    ),
    "alerts": (
        (
            "id",
            "member_id",
            "url",
            "article_id",
            "state",
            "generation",
            "batch_id",
            "paced",
            "message_id",
            "attempts",
            "next_try_at",
            "last_error",
            "created_at",
            "sent_at",
        ),
        "",
        "DO NOTHING",
    ),
}
_SERIALS = ("follows", "alerts")  # tables whose ids were copied: their sequences follow
_SKIPPED_META = ("bulk_load_triggers", "last_sync")  # SQLite's own bookkeeping; the target's own
_AUDIT = ("at", "actor", "action", "article_id", "detail")


@dataclass
class MigrationReport:
    copied: dict[str, int] = field(default_factory=dict)  # table -> rows read from the source


async def copy_state(source: Database, target: Database) -> MigrationReport:
    """Copy what only the database knows from `source` into `target`, in one transaction.
    The target must already be loaded (`Folder.sync`)."""
    report = MigrationReport()
    async with target.transaction():
        for table, (columns, conflict, action) in _COPIES.items():
            rows = await source.fetch_tuples(f"SELECT {', '.join(columns)} FROM {table}")
            if table == "meta":
                rows = [r for r in rows if r[0] not in _SKIPPED_META]
            await target.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))}) ON CONFLICT {conflict} {action}",
                rows,
            )
            report.copied[table] = len(rows)
        audit = await source.fetch_tuples(f"SELECT {', '.join(_AUDIT)} FROM audit ORDER BY id")
        known = set(await target.fetch_tuples(f"SELECT {', '.join(_AUDIT)} FROM audit"))
        await target.executemany(
            f"INSERT INTO audit ({', '.join(_AUDIT)}) VALUES ({', '.join('?' * len(_AUDIT))})",
            [row for row in audit if tuple(row) not in known],
        )
        report.copied["audit"] = len(audit)
        visible = await source.fetch_tuples(
            "SELECT visible_since, id FROM articles WHERE visible_since IS NOT NULL"
        )
        await target.executemany("UPDATE articles SET visible_since = ? WHERE id = ?", visible)
        if target.kind == "postgresql":  # the next id after the ones copied
            for table in _SERIALS:
                await target.fetchval(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"GREATEST((SELECT MAX(id) FROM {table}), 1))"
                )
        # Every process's matcher is rebuilt from the follows as they are now.
        await target.execute("UPDATE follows_version SET version = version + 1")
    return report
