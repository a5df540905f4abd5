"""Settings from the environment and `.env`."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import DEFAULT_ALERTS_PER_HOUR, DEFAULT_POLL_SECONDS, Settings, redact
from bot.errors import ConfigError

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.s3cr3t-t0ken-value"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with the default `seeds/` store folder and no `.env`."""
    (tmp_path / "seeds").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env, dotenv_path=None)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


def test_defaults(workdir: Path) -> None:
    settings = Settings.from_env({}, dotenv_path=None)
    assert settings.token is None
    assert settings.store_dir == Path("seeds")
    assert settings.db_path == Path("data/news.db")
    assert settings.channel_id is None
    assert settings.guild_id is None
    assert settings.newsroom_guild_ids == frozenset()  # moderation from the command line only
    assert settings.moderator_role_ids == frozenset()
    assert settings.poll_seconds == DEFAULT_POLL_SECONDS == 30.0
    assert settings.shard_count is None
    assert settings.shard_ids is None
    assert settings.delivery is None
    assert settings.runs_delivery is True
    assert settings.log_level == "INFO"
    assert settings.log_level_number == logging.INFO
    assert settings.alerts_per_hour == DEFAULT_ALERTS_PER_HOUR == 5


def test_alerts_per_hour_is_read(workdir: Path) -> None:
    assert Settings.from_env({"ALERTS_PER_HOUR": "12"}, dotenv_path=None).alerts_per_hour == 12


def test_metrics_are_served_only_when_a_port_is_given(workdir: Path) -> None:
    plain = Settings.from_env({}, dotenv_path=None)
    assert (plain.metrics_port, plain.metrics_host) == (None, "127.0.0.1")
    env = {"METRICS_PORT": "9108", "METRICS_HOST": "0.0.0.0"}
    served = Settings.from_env(env, dotenv_path=None)
    assert (served.metrics_port, served.metrics_host) == (9108, "0.0.0.0")
    assert Settings.from_env({"METRICS_PORT": "0"}, dotenv_path=None).metrics_port == 0
    assert refused({"METRICS_PORT": "70000"}) == "METRICS_PORT: must be at most 65535, got 70000"
    assert refused({"METRICS_PORT": "http"}) == "METRICS_PORT: must be a whole number, got 'http'"


def test_every_variable_is_parsed(workdir: Path) -> None:
    store = workdir / "store"
    store.mkdir()
    settings = Settings.from_env(
        {
            "DISCORD_TOKEN": TOKEN,
            "NEWS_STORE_DIR": str(store),
            "NEWS_DB_PATH": "var/bot.db",
            "NEWS_CHANNEL_ID": "1100000000000000001",
            "DISCORD_GUILD_ID": " 1200000000000000002 ",
            "NEWSROOM_GUILD_IDS": "1300000000000000003, 1300000000000000004,",
            "MODERATOR_ROLE_IDS": "13, 14,,13 ,15",
            "NEWS_POLL_SECONDS": "2.5",
            "SHARD_COUNT": "4",
            "SHARD_IDS": "2,3",
            "DELIVERY": "yes",
            "LOG_LEVEL": "debug",
            "UNRELATED": "ignored",
        },
        dotenv_path=None,
    )
    assert settings.token == TOKEN
    assert settings.store_dir == store
    assert settings.db_path == Path("var/bot.db")
    assert settings.channel_id == 1100000000000000001
    assert settings.guild_id == 1200000000000000002
    assert settings.newsroom_guild_ids == frozenset({1300000000000000003, 1300000000000000004})
    assert settings.moderator_role_ids == frozenset({13, 14, 15})
    assert settings.poll_seconds == 2.5
    assert settings.shard_count == 4
    assert settings.shard_ids == (2, 3)
    assert settings.delivery is True
    assert settings.runs_delivery is True
    assert settings.log_level == "DEBUG"
    assert settings.log_level_number == logging.DEBUG


def test_the_dataclass_and_the_environment_share_one_poll_default(workdir: Path) -> None:
    assert Settings().poll_seconds == Settings.from_env({}, dotenv_path=None).poll_seconds


def test_empty_values_count_as_unset(workdir: Path) -> None:
    settings = Settings.from_env(
        {"NEWS_CHANNEL_ID": "", "MODERATOR_ROLE_IDS": "  ", "DISCORD_TOKEN": ""},
        dotenv_path=None,
    )
    assert settings.channel_id is None
    assert settings.moderator_role_ids == frozenset()
    assert settings.token is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEWS_CHANNEL_ID", "general"),
        ("NEWS_CHANNEL_ID", "12.5"),
        ("NEWS_CHANNEL_ID", "0"),
        ("NEWS_CHANNEL_ID", "-4"),
        ("DISCORD_GUILD_ID", "my-server"),
        ("NEWSROOM_GUILD_IDS", "my-newsroom"),
        ("NEWSROOM_GUILD_IDS", "123,0"),
        ("NEWSROOM_GUILD_IDS", "123;456"),
        ("MODERATOR_ROLE_IDS", "123,mods"),
        ("MODERATOR_ROLE_IDS", "@moderators"),
        ("MODERATOR_ROLE_IDS", "12,\u00b2"),  # a superscript two is a digit, not a number
        ("SHARD_COUNT", "two"),
        ("SHARD_COUNT", "0"),
        ("NEWS_POLL_SECONDS", "soon"),
        ("NEWS_POLL_SECONDS", "0"),
        ("NEWS_POLL_SECONDS", "nan"),
        ("LOG_LEVEL", "LOUD"),
        ("DELIVERY", "maybe"),
        ("ALERTS_PER_HOUR", "five"),
        ("ALERTS_PER_HOUR", "0"),
        ("ALERTS_PER_HOUR", "61"),
    ],
)
def test_a_wrong_value_stops_with_one_line_naming_the_variable(
    workdir: Path, name: str, value: str
) -> None:
    message = refused({name: value})
    assert message.startswith(f"{name}: "), message


def test_the_newsroom_defaults_to_discord_guild_id(workdir: Path) -> None:
    """The guild the commands are synced to is the newsroom, unless NEWSROOM_GUILD_IDS says."""
    alone = Settings.from_env({"DISCORD_GUILD_ID": "77"}, dotenv_path=None)
    assert alone.newsroom_guild_ids == frozenset({77})
    unset = Settings.from_env(
        {"DISCORD_GUILD_ID": "77", "NEWSROOM_GUILD_IDS": " "}, dotenv_path=None
    )
    assert unset.newsroom_guild_ids == frozenset({77})
    elsewhere = Settings.from_env(
        {"DISCORD_GUILD_ID": "77", "NEWSROOM_GUILD_IDS": "88"}, dotenv_path=None
    )
    assert elsewhere.guild_id == 77 and elsewhere.newsroom_guild_ids == frozenset({88})
    public = Settings.from_env({"NEWSROOM_GUILD_IDS": "88,99"}, dotenv_path=None)
    assert public.guild_id is None and public.newsroom_guild_ids == frozenset({88, 99})


def test_a_bad_newsroom_id_names_the_variable_and_the_id(workdir: Path) -> None:
    message = refused({"DISCORD_GUILD_ID": "77", "NEWSROOM_GUILD_IDS": "88,newsroom"})
    assert message == "NEWSROOM_GUILD_IDS: 'newsroom' is not a valid id (comma-separated numbers)"


@pytest.mark.parametrize("value", ["0,x", "one", "-1", "\u00b9"])
def test_bad_shard_ids(workdir: Path, value: str) -> None:
    assert refused({"SHARD_COUNT": "2", "SHARD_IDS": value}).startswith("SHARD_IDS: ")


def test_missing_store_folder(workdir: Path) -> None:
    message = refused({"NEWS_STORE_DIR": str(workdir / "no-such-folder")})
    assert message.startswith("NEWS_STORE_DIR: ")
    assert "no-such-folder" in message


def test_store_folder_that_is_a_file(workdir: Path) -> None:
    (workdir / "a-file").write_text("x")
    assert refused({"NEWS_STORE_DIR": "a-file"}).startswith("NEWS_STORE_DIR: ")


def test_default_store_folder_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert refused({}).startswith("NEWS_STORE_DIR: ")


def test_a_command_with_its_own_store_folder_needs_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./seeds here
    assert Settings.from_env({}, dotenv_path=None, require_store=False).store_dir == Path("seeds")
    named = Settings.from_env({"NEWS_STORE_DIR": "nowhere"}, dotenv_path=None, require_store=False)
    assert named.store_dir == Path("nowhere")
    with pytest.raises(ConfigError):  # everything else is still validated
        Settings.from_env({"NEWS_CHANNEL_ID": "x"}, dotenv_path=None, require_store=False)


def test_shard_ids_without_shard_count(workdir: Path) -> None:
    message = refused({"SHARD_IDS": "0,1"})
    assert message.startswith("SHARD_IDS: ")
    assert "SHARD_COUNT" in message


def test_shard_ids_beyond_shard_count(workdir: Path) -> None:
    message = refused({"SHARD_COUNT": "2", "SHARD_IDS": "1,2"})
    assert message.startswith("SHARD_IDS: ")


def test_only_the_process_with_shard_zero_delivers(workdir: Path) -> None:
    shards = {"SHARD_COUNT": "4"}
    assert Settings.from_env({**shards, "SHARD_IDS": "0,1"}, dotenv_path=None).runs_delivery
    assert not Settings.from_env({**shards, "SHARD_IDS": "2,3"}, dotenv_path=None).runs_delivery
    assert Settings.from_env(
        {**shards, "SHARD_IDS": "2,3", "DELIVERY": "1"}, dotenv_path=None
    ).runs_delivery
    assert not Settings.from_env({"DELIVERY": "off"}, dotenv_path=None).runs_delivery


def test_dotenv_file_is_read(workdir: Path) -> None:
    dotenv = workdir / "custom.env"
    dotenv.write_text(
        "# comment line\n"
        f'DISCORD_TOKEN="{TOKEN}"\n'
        "NEWS_CHANNEL_ID=42  # the news channel\n"
        "export LOG_LEVEL=warning\n"
    )
    settings = Settings.from_env({}, dotenv_path=dotenv)
    assert settings.token == TOKEN
    assert settings.channel_id == 42
    assert settings.log_level == "WARNING"


def test_default_dotenv_is_the_one_in_the_working_directory(workdir: Path) -> None:
    (workdir / ".env").write_text("NEWS_CHANNEL_ID=7\n")
    assert Settings.from_env({}).channel_id == 7


def test_missing_dotenv_file_is_fine(workdir: Path) -> None:
    assert Settings.from_env({}, dotenv_path=workdir / "absent.env").channel_id is None


def test_the_environment_wins_over_dotenv(workdir: Path) -> None:
    dotenv = workdir / ".env"
    dotenv.write_text("NEWS_CHANNEL_ID=1\nDISCORD_GUILD_ID=5\nLOG_LEVEL=ERROR\n")
    settings = Settings.from_env({"NEWS_CHANNEL_ID": "2", "LOG_LEVEL": "debug"}, dotenv_path=dotenv)
    assert settings.channel_id == 2
    assert settings.log_level == "DEBUG"
    assert settings.guild_id == 5  # only in the file: the file's value is used


def test_the_real_environment_is_read_by_default(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / ".env").write_text("NEWS_CHANNEL_ID=1\n")
    monkeypatch.setenv("NEWS_CHANNEL_ID", "3")
    assert Settings.from_env().channel_id == 3


def test_a_bad_value_in_dotenv_names_the_variable(workdir: Path) -> None:
    dotenv = workdir / ".env"
    dotenv.write_text("DISCORD_GUILD_ID=my guild\n")
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({}, dotenv_path=dotenv)
    assert str(caught.value).startswith("DISCORD_GUILD_ID: ")


def test_the_token_is_never_in_repr(workdir: Path) -> None:
    settings = Settings.from_env({"DISCORD_TOKEN": TOKEN}, dotenv_path=None)
    assert settings.token == TOKEN
    for shown in (repr(settings), str(settings), f"{settings}", f"{settings!r}"):
        assert TOKEN not in shown
        assert "s3cr3t" not in shown


def test_the_token_is_never_in_an_error(workdir: Path) -> None:
    message = refused({"DISCORD_TOKEN": TOKEN, "NEWS_CHANNEL_ID": "x"})
    assert "s3cr3t" not in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bob:pw@db/news", "postgresql://bob:***@db/news"),
        ("postgresql://bob@db/news?password=pw", "postgresql://bob@db/news?password=***"),
        (
            "postgres://bob:pw@db:5432/news?sslmode=require&sslpassword=pw&PASSWORD=pw#x",
            "postgres://bob:***@db:5432/news?sslmode=require&sslpassword=***&PASSWORD=***#x",
        ),
        ("postgresql://db/news?pass%77ord=pw", "postgresql://db/news?pass%77ord=***"),
        (
            "postgresql://bob:p@w@[::1/news?password=pw",
            "postgresql://bob:***@[::1/news?password=***",
        ),
        ("postgresql://db/news?application_name=x", "postgresql://db/news?application_name=x"),
    ],
)
def test_redact_hides_every_password_a_driver_would_read(url: str, shown: str) -> None:
    """In the user part and the query string, decoded or not, even in a URL urlsplit rejects."""
    assert redact(url) == shown
    assert Settings(database_url=url).database_label == shown
