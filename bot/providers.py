"""The store's optional providers.yaml, and a story's source mix. Pure: no Discord, no SQL.

providers.yaml sits in the store folder beside the article files. It maps each source's
domain to its kind and its country, so that /story can say which kinds of source covered
a story and which did not, and whether any came from abroad:

    reuters.com:  {kind: wire, country: GB}
    nytimes.com:  {kind: national, country: US}
    bostonglobe.com:
      kind: regional
      country: US

A domain matches its subdomains (`nytimes.com` covers `www.nytimes.com` and
`cooking.nytimes.com`; the longest listed domain wins). `kind` is one of KINDS; `country`
an ISO 3166-1 alpha-2 code (any case). Nothing else is allowed: a typo is an error, not
an entry silently ignored. The file is read like an article file (at most
MAX_FILE_BYTES, no FIFO or link out of the folder, YAML without anchors or aliases), and
a bad one is a bad file with its one-line reason.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.articles import Article, read_store_bytes
from bot.frontmatter import ArticleError, load_yaml, preview

PROVIDERS_FILE = "providers.yaml"
# The kinds of source, in the order the mix lists them. Closed: a mix compares stories by
# these words, so a new kind is a change here (and in docs/servers.md), not a typo away.
KINDS = ("wire", "national", "regional", "trade", "blog")
# ISO 3166-1 alpha-2: every officially assigned code.
_ISO_3166 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"""
COUNTRIES = frozenset(_ISO_3166.split())
_FIELDS = ("kind", "country")
# A domain: dot-separated labels of letters, digits and inner hyphens (any script).
_LABEL = r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?)"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_MAX_DOMAIN = 253


@dataclass(frozen=True, slots=True)
class Provider:
    kind: str  # one of KINDS
    country: str  # ISO 3166-1 alpha-2, upper case


Providers = dict[str, Provider]  # domain (as `domain_of` gives it) -> its kind and country


def domain_of(host: str) -> str:
    """A host or URL as providers.yaml keys it: lower case, no port, no trailing dot, no
    leading `www.`. "" when there is none."""
    text = host.strip()
    if "/" in text:
        try:
            text = urlsplit(text).hostname or ""
        except ValueError:
            return ""
    text = text.split(":", 1)[0].rstrip(".").lower()
    return text.removeprefix("www.")


def provider_for(providers: Mapping[str, Provider], domain: str) -> Provider | None:
    """The entry for `domain` or, failing that, its closest listed parent domain."""
    labels = domain.split(".")
    for start in range(len(labels)):
        found = providers.get(".".join(labels[start:]))
        if found is not None:
            return found
    return None


def parse_providers(raw: bytes, source: str = PROVIDERS_FILE) -> Providers:
    """providers.yaml's bytes as its mapping, or ArticleError naming the first problem.
    An empty file (or only comments) lists no provider."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ArticleError(source, f"line {line}: not UTF-8 (byte {exc.start})") from None
    data = load_yaml(text.removeprefix("\ufeff"), source)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ArticleError(source, "must be a mapping of domain: {kind: ..., country: ...}")
    providers: Providers = {}
    for key, entry in data.items():
        domain = _domain_key(key, source)
        where = f"{domain}: "
        if not isinstance(entry, dict):
            raise ArticleError(source, f"{where}must be a mapping with kind and country")
        unknown = [str(k) for k in entry if k not in _FIELDS]
        if unknown:
            raise ArticleError(
                source, f"{where}unknown field {preview(unknown[0])} (only kind and country)"
            )
        kind, country = entry.get("kind"), entry.get("country")
        if not isinstance(kind, str) or kind.strip().lower() not in KINDS:
            raise ArticleError(
                source, f"{where}kind: {preview(kind)} is not one of {', '.join(KINDS)}"
            )
        if not isinstance(country, str) or country.strip().upper() not in COUNTRIES:
            raise ArticleError(
                source,
                f"{where}country: {preview(country)} is not an ISO 3166-1 alpha-2 code "
                "(such as US, GB, DE)",
            )
        providers[domain] = Provider(kind.strip().lower(), country.strip().upper())
    return providers


def _domain_key(key: object, source: str) -> str:
    domain = domain_of(key) if isinstance(key, str) else ""
    if not domain or len(domain) > _MAX_DOMAIN or not _DOMAIN.fullmatch(domain):
        raise ArticleError(source, f"{preview(key)} is not a domain (such as reuters.com)")
    return domain


def read_providers(store_dir: str | os.PathLike[str]) -> Providers | str:
    """The store folder's providers.yaml, or its one-line error (picklable, as a bad
    article file's)."""
    try:
        return parse_providers(read_store_bytes(store_dir, PROVIDERS_FILE))
    except ArticleError as exc:
        return str(exc)
    except OSError as exc:
        return str(ArticleError(PROVIDERS_FILE, f"cannot read ({exc.strerror or 'error'})"))


def to_json(providers: Providers) -> str:
    """The mapping as kept in the database (every host reads the same one)."""
    return json.dumps({d: [p.kind, p.country] for d, p in sorted(providers.items())})


def from_json(text: str) -> Providers:
    return {d: Provider(kind, country) for d, (kind, country) in json.loads(text).items()}


# --- a story's source mix -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mix:
    """Who covered a story: distinct providers and domains; with providers.yaml, how many
    of its domains are of each kind the file uses (0 too: what did not cover it), which
    countries they come from, and how many domains the file does not list."""

    providers: int
    domains: int
    kinds: tuple[tuple[str, int], ...] = ()  # (kind, domains), in KINDS order
    countries: tuple[tuple[str, int], ...] = ()  # (code, domains), most first
    unlisted: int = 0  # domains providers.yaml does not list
    listed: bool = False  # there is a providers.yaml


def article_domain(article: Article) -> str:
    """The domain a story's article counts as: its provider's domain, else its link's host."""
    return domain_of(article.provider_domain) or domain_of(article.url)


def source_mix(articles: Iterable[Article], providers: Providers | None) -> Mix:
    """The mix of `articles` (one story's); `providers` None: there is no providers.yaml."""
    names: set[str] = set()
    domains: set[str] = set()
    for article in articles:
        domain = article_domain(article)
        name = " ".join(article.provider_name.split()).casefold()
        names.add(name or domain)
        if domain:
            domains.add(domain)
    if providers is None:
        return Mix(len(names), len(domains))
    found = {d: provider_for(providers, d) for d in domains}
    known = [p for p in found.values() if p is not None]
    used = {p.kind for p in providers.values()}
    kinds = tuple((k, sum(p.kind == k for p in known)) for k in KINDS if k in used)
    counts: dict[str, int] = {}
    for p in known:
        counts[p.country] = counts.get(p.country, 0) + 1
    countries = tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    unlisted = len(found) - len(known)
    return Mix(len(names), len(domains), kinds, countries, unlisted, listed=True)
