"""providers.yaml: its format (each refusal one line naming the file and what is wrong), a
domain matching its subdomains, and the folder sync keeping the last good mapping in the
database on both backends: read when it changes, a bad one reported as a bad file (the
sync report, the `files` error /status shows) and changing nothing, a removed one leaving
no mapping, every host reading the same one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import check
from bot.articles import MAX_FILE_BYTES
from bot.frontmatter import ArticleError
from bot.providers import (
    PROVIDERS_FILE,
    Provider,
    domain_of,
    parse_providers,
    provider_for,
    read_providers,
)
from bot.store import Store
from tests.support.botenv import news_bot
from tests.support.helpers import write_article

GOOD = """\
reuters.com: {kind: wire, country: gb}
WWW.NYTimes.com.: {kind: National, country: US}
bbc.co.uk:
  kind: national
  country: GB
sport.bbc.co.uk: {kind: trade, country: GB}
"""
GOOD_MAPPING = {
    "reuters.com": Provider("wire", "GB"),
    "nytimes.com": Provider("national", "US"),
    "bbc.co.uk": Provider("national", "GB"),
    "sport.bbc.co.uk": Provider("trade", "GB"),
}


# --- the format ------------------------------------------------------------------------------


def test_a_good_file_is_its_mapping_keyed_as_domains_are_matched() -> None:
    assert parse_providers(GOOD.encode()) == GOOD_MAPPING
    assert parse_providers(b"") == {} and parse_providers(b"# nothing yet\n") == {}


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("bbc.co.uk", "national"),
        ("news.bbc.co.uk", "national"),  # a subdomain matches its domain
        ("live.sport.bbc.co.uk", "trade"),  # the longest listed domain wins
        ("www.reuters.com", "wire"),
        ("https://www.nytimes.com:443/2024/world.html", "national"),
        ("notbbc.co.uk", None),  # a suffix that is not a parent domain
        ("co.uk", None),
        ("", None),
    ],
)
def test_a_domain_matches_its_subdomains(host: str, kind: str | None) -> None:
    found = provider_for(GOOD_MAPPING, domain_of(host))
    assert (found.kind if found else None) == kind


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a.com: {kind: wire, country: US}\nb.com: : :\n", "line 2: YAML error: mapping values"),
        ("- reuters.com\n- bbc.co.uk\n", "must be a mapping of domain: {kind: ..., country: ...}"),
        ("reuters.com: wire\n", "reuters.com: must be a mapping with kind and country"),
        (
            "reuters.com: {kind: newswire, country: GB}\n",
            "reuters.com: kind: 'newswire' is not one of wire, national, regional, trade, blog",
        ),
        ("reuters.com: {country: GB}\n", "reuters.com: kind: None is not one of"),
        (
            "bbc.co.uk: {kind: national, country: UK}\n",
            "bbc.co.uk: country: 'UK' is not an ISO 3166-1 alpha-2 code (such as US, GB, DE)",
        ),
        ("bbc.co.uk: {kind: national, country: 826}\n", "country: 826 is not an ISO"),
        (
            "bbc.co.uk: {kind: national, country: GB, name: BBC}\n",
            "bbc.co.uk: unknown field 'name' (only kind and country)",
        ),
        ("bbc co uk: {kind: national, country: GB}\n", "'bbc co uk' is not a domain"),
        ("42: {kind: national, country: GB}\n", "42 is not a domain"),
        ("a.com: &x {kind: wire, country: US}\nb.com: *x\n", "anchors (&) and aliases (*)"),
    ],
)
def test_a_bad_file_is_refused_in_one_line_naming_the_file(text: str, problem: str) -> None:
    with pytest.raises(ArticleError) as refused:
        parse_providers(text.encode())
    message = str(refused.value)
    assert message.startswith(f"{PROVIDERS_FILE}: ") and problem in message, message
    assert "\n" not in message


def test_the_file_is_bounded_and_read_as_store_files_are(tmp_path: Path) -> None:
    (tmp_path / PROVIDERS_FILE).write_bytes(b"a.com: {kind: wire, country: US}\n\xff\n")
    assert read_providers(tmp_path) == f"{PROVIDERS_FILE}: line 2: not UTF-8 (byte 33)"
    (tmp_path / PROVIDERS_FILE).write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    assert "too big" in str(read_providers(tmp_path))
    (tmp_path / PROVIDERS_FILE).unlink()
    (tmp_path / PROVIDERS_FILE).symlink_to("/etc/hostname")
    assert "a symbolic link leading outside the store folder" in str(read_providers(tmp_path))


# --- the sync, on both backends ---------------------------------------------------------------


async def test_the_sync_keeps_the_last_good_mapping_and_reports_a_bad_file(
    store: Store, store_dir: Path
) -> None:
    path = store_dir / PROVIDERS_FILE
    assert await store.providers.current() is None  # no file: no mapping
    path.write_text(GOOD, encoding="utf-8")
    report = await store.folder.sync()
    assert report.errors == [] and await store.providers.current() == GOOD_MAPPING
    assert await store.articles.bad_files() == []

    path.write_text(GOOD + "cnn.com: {kind: cable, country: US}\n", encoding="utf-8")
    report = await store.folder.sync()
    error = f"{PROVIDERS_FILE}: cnn.com: kind: 'cable' is not one of wire, national, regional"
    [said] = report.errors
    assert said.startswith(error)
    assert await store.articles.bad_files() == [(PROVIDERS_FILE, said)]
    assert await store.providers.current() == GOOD_MAPPING  # changed nothing
    again = await store.folder.sync()  # unchanged: not read again, still bad
    assert again.errors == [] and await store.articles.bad_files() == [(PROVIDERS_FILE, said)]
    assert again.deleted == 0 and again.scanned == 1  # not an article file, nor withdrawn

    path.write_text("cnn.com: {kind: national, country: US}\n", encoding="utf-8")
    report = await store.folder.sync_files([PROVIDERS_FILE])  # a file-system event's path
    assert report.errors == [] and await store.articles.bad_files() == []
    assert await store.providers.current() == {"cnn.com": Provider("national", "US")}

    path.unlink()
    await store.folder.sync()
    assert await store.providers.current() is None  # removed: the mix counts only
    assert await store.articles.bad_files() == []


async def test_every_host_reads_the_mapping_the_scanner_wrote(
    database: Path | str, store_dir: Path
) -> None:
    (store_dir / PROVIDERS_FILE).write_text(GOOD, encoding="utf-8")
    async with Store.open(database, store_dir) as scanner, Store.open(database, store_dir) as other:
        assert await other.providers.current() is None
        await scanner.folder.sync()
        assert await other.providers.current() == GOOD_MAPPING
        (store_dir / PROVIDERS_FILE).write_text("a.com: {kind: blog, country: FR}\n")
        await scanner.folder.sync()
        assert await other.providers.current() == {"a.com": Provider("blog", "FR")}


@pytest.mark.usefixtures("both_backends")
async def test_a_bad_file_is_shown_by_status_and_the_mix_keeps_the_last_good_one(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    write_article(folder, "story", published=True, provider={"name": "R", "domain": "reuters.com"})
    (folder / PROVIDERS_FILE).write_text(GOOD, encoding="utf-8")
    async with news_bot(tmp_path) as env:
        d, moderator = env.discord, env.guild.moderator
        (folder / PROVIDERS_FILE).write_text("reuters.com: {kind: wire, country: XX}\n")

        async def reported() -> bool:
            return bool(await env.store.articles.bad_files())

        await d.wait_for(reported, 10)  # the watcher read it
        status = await d.slash("status", user_id=moderator)
        fields = {f["name"]: f["value"] for f in status.data["embeds"][0]["fields"]}
        assert "providers.yaml" in fields["Bad files"] and "'XX'" in fields["Bad files"]
        result = await d.slash(
            "story", {"article": "story"}, user_id=env.guild.reader, global_command=True
        )
        mix = str(result.data["components"][0]["components"][1]["content"])
        assert mix.endswith("1 wire, 0 national, 0 trade; no source from outside GB")


def test_newsbot_check_checks_providers_yaml_as_the_sync_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_article(tmp_path, "story")
    (tmp_path / PROVIDERS_FILE).write_text(GOOD, encoding="utf-8")
    assert check(tmp_path) == 0
    assert "checked 2 files" in capsys.readouterr().out
    (tmp_path / PROVIDERS_FILE).write_text("a.com: {kind: wire, country: ZZ}\n")
    assert check(tmp_path) == 1
    out = capsys.readouterr().out
    assert f"error: {PROVIDERS_FILE}: a.com: country: 'ZZ' is not an ISO" in out
    assert "1 good, 1 bad" in out
