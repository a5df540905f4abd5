"""Stories, pure: which articles are one story. No SQL, no Discord: the store
(store/stories.py) gathers the articles and writes what this decides.

Two articles are linked when they share a normalised URL (`normalise_url`: their webUrl,
originalUrl or a related item's webUrl) or when the texts (title + excerpt) are
near-duplicates: MinHash over word shingles, found through LSH bands (`story_keys`) and
confirmed only by the estimated Jaccard similarity at or over THRESHOLD. A link counts only
between articles published within WINDOW of each other; a story is what links join,
transitively (`cluster`), and the editors' pins (/story split, merge) are never bridged.

The thresholds were chosen on the planted corpus (tests/support/corpus.py, bench/stories.py):
see docs/servers.md, "Stories".
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from array import array
from collections.abc import Iterable, Sequence
from typing import NamedTuple, TypeAlias
from urllib.parse import parse_qsl, urlencode, urlsplit

WINDOW = 72 * 3600  # seconds between two linked articles' publishedDateTime, at most

SHINGLE = 2  # words per shingle
HASHES = 32  # MinHash values per signature
BANDS, ROWS = 16, 2  # LSH: BANDS x ROWS == HASHES; a band key per band
THRESHOLD = 0.45  # estimated Jaccard similarity at or over which two texts are one story
MIN_WORDS = 10  # a text shorter finds no near-duplicates (URLs only): too few shingles to tell
BUCKET_PAIRS = 32  # per key, each article is compared with at most this many later ones

URL_LINK = 2.0  # a shared URL: stronger than any text similarity (<= 1.0) alone
# HASHES 32-bit values, as an array ("I"): a seventh of a tuple's memory at 100,000 articles
Signature: TypeAlias = "array[int]"

# --- URLs -------------------------------------------------------------------------------

_HOST_PREFIXES = ("www.", "m.", "amp.")
_DEFAULT_PORTS = {"80", "443", ""}
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "ref",
        "ref_src",
        "ref_url",
        "cmpid",
        "ocid",
        "_ga",
        "_gl",
        "yclid",
        "twclid",
        "smid",
        "sr_share",
        "spm",
        "cmp",
        "s_cid",
        "ito",
        "guccounter",
        "mkt_tok",
        "_hsenc",
        "_hsmi",
        "hsctatracking",
        "oly_enc_id",
        "oly_anon_id",
        "vero_id",
    }
)
_AMP_PARAMS = {"amp": None, "output": "amp", "outputtype": "amp"}  # None: any value


def normalise_url(url: str) -> str:
    """The form two URLs of one page share: https, host without www./m./amp. and default
    port, no fragment, AMP path or trailing slash, no tracking parameters, the rest sorted.
    Total: any string gives a string (one that is not an http(s) URL, trimmed)."""
    text = url.strip()
    try:
        return _normalise(text)
    except ValueError:  # a bad IPv6 host, say: then the text itself is the key
        return text


def _normalise(text: str) -> str:
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        return text
    host, _, port = parts.netloc.rpartition("@")[2].partition(":")
    if "[" in parts.netloc:  # an IPv6 literal: its colons are not a port's
        host, port = parts.netloc.rpartition("@")[2], ""
    host = host.lower().rstrip(".")
    while host.startswith(_HOST_PREFIXES) and host.count(".") > 1:
        host = host.split(".", 1)[1]
    port = "" if port in _DEFAULT_PORTS else ":" + port
    segments = [s for s in parts.path.split("/") if s and s.lower() != "amp"]
    if segments and segments[-1].lower().endswith(".amp"):
        segments[-1] = segments[-1][:-4]
    if segments and segments[-1].lower().endswith(".amp.html"):
        segments[-1] = segments[-1][:-9] + ".html"
    path = "/" + "/".join(s for s in segments if s) if segments else ""
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _dropped(name, value)
    )
    tail = "?" + urlencode(query) if query else ""
    return f"https://{host}{port}{path}{tail}"


def _dropped(name: str, value: str) -> bool:
    """A tracking parameter, or one asking for the AMP page."""
    key = name.lower()
    if key.startswith("utm_") or key in _TRACKING:
        return True
    if key in _AMP_PARAMS:
        wanted = _AMP_PARAMS[key]
        return wanted is None or value.lower() == wanted
    return False


def url_keys(urls: Iterable[str | None]) -> list[str]:
    """The `story_keys` of an article's URLs: "u" and a 48-bit hash of the normalised URL
    (short keys keep the table small), never a site's home page (a related link to a front
    page would join every story that lists it)."""
    keys: list[str] = []
    for url in urls:
        if not url:
            continue
        normal = normalise_url(url)
        if not normal.startswith("https://") or "/" not in normal[8:]:
            continue
        key = "u" + hashlib.blake2b(normal.encode(), digest_size=6).hexdigest()
        if key not in keys:
            keys.append(key)
    return keys


# --- near-duplicate texts -----------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
# The combining marks NFKD splits off accented letters (é -> e + U+0301), in the blocks
# Latin, Greek and Cyrillic text uses: a letter of any other script stays a letter.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def words(text: str) -> list[str]:
    """Casefolded words without accents or punctuation: "Café's" -> ["cafe", "s"]."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _MARKS.sub("", unicodedata.normalize("NFKD", folded))
    return _WORD.findall(folded)


def shingles(title: str, excerpt: str) -> set[str]:
    """The text's SHINGLE-word runs (title and excerpt read as one text); none when the
    text is too short to tell a near-duplicate from a coincidence."""
    found = words(f"{title} {excerpt}")
    if len(found) < MIN_WORDS:
        return set()
    return {" ".join(found[i : i + SHINGLE]) for i in range(len(found) - SHINGLE + 1)}


def signature(title: str, excerpt: str) -> Signature:
    """MinHash: per hash function, the least value over the shingles (shake_128 of a
    shingle gives all HASHES 32-bit values at once). Empty for a text too short."""
    rows = [
        array("I", hashlib.shake_128(s.encode()).digest(4 * HASHES))
        for s in shingles(title, excerpt)
    ]
    if not rows:
        return array("I")
    return array("I", map(min, zip(*rows, strict=True)))


def similarity(a: Signature, b: Signature) -> float:
    """The estimated Jaccard similarity of two texts: the share of equal MinHash values."""
    if not a or not b:
        return 0.0
    return sum(x == y for x, y in zip(a, b, strict=True)) / HASHES


def band_keys(sig: Signature) -> list[str]:
    """The `story_keys` of a signature: per band of ROWS values, "b", the band and a 32-bit
    hash of its values. Two texts share a band with probability 1 - (1 - J**ROWS)**BANDS:
    0.97 at J = 0.45, 0.6% at J = 0.02."""
    keys = []
    for band in range(len(sig) // ROWS):
        values = sig[band * ROWS : (band + 1) * ROWS].tobytes()
        keys.append(f"b{band:x}{hashlib.blake2b(values, digest_size=4).hexdigest()}")
    return keys


def story_keys(
    url: str, original_url: str | None, related: Iterable[str | None], sig: Signature
) -> list[str]:
    """Every key that finds an article's story: its URLs' and its signature's bands."""
    return url_keys([url, original_url, *related]) + band_keys(sig)


# --- clustering ---------------------------------------------------------------------------


class Member(NamedTuple):
    """One article taking part in a clustering."""

    id: str
    published_at: int
    keys: Sequence[str]
    signature: Signature
    pin: str | None = None  # the story an editor pinned it to
    group: str | None = None  # settled: the story it already is in (not re-decided)
    first: tuple[int, str] | None = None  # (time, key) it gives a story it begins, if not its own


def links(members: Sequence[Member], window: int = WINDOW) -> list[tuple[float, int, int]]:
    """(strength, i, j) for each pair of members linked, strongest first (then by ids, so
    any order of members gives the same): a shared URL within `window` (URL_LINK plus their
    texts' similarity), or a band confirmed by the signatures' similarity. Two settled
    members are never compared: only the unsettled ones can join stories."""
    first: dict[str, int] = {}  # most keys are one article's: no list for them
    shared: dict[str, list[int]] = {}
    for i, member in enumerate(members):
        for key in member.keys:
            if (j := first.setdefault(key, i)) != i:
                shared.setdefault(key, [j]).append(i)
    del first
    best: dict[tuple[int, int], float] = {}
    for key, found in shared.items():
        found.sort(key=lambda i: members[i].published_at)
        by_url = key[0] == "u"
        for at, i in enumerate(found):
            for j in found[at + 1 : at + 1 + BUCKET_PAIRS]:
                a, b = members[i], members[j]
                if b.published_at - a.published_at > window:
                    break
                pair = (i, j) if i < j else (j, i)
                if (a.group and b.group) or best.get(pair, 0.0) >= URL_LINK:
                    continue
                if pair not in best:
                    best[pair] = similarity(a.signature, b.signature)
                if by_url:
                    best[pair] += URL_LINK
    return sorted(
        ((strength, i, j) for (i, j), strength in best.items() if strength >= THRESHOLD),
        key=lambda link: (-link[0], *sorted((members[link[1]].id, members[link[2]].id))),
    )


def cluster(members: Sequence[Member], linked: Iterable[tuple[float, int, int]]) -> list[str]:
    """Each member's story. Settled members of one story and members pinned to one story
    start together; then links join, strongest first, except where both sides hold
    different pins: so an article linked to two differently pinned stories joins the one
    it is most like, and bridges nothing. A story's key is its pin, else the id of its
    earliest article (publishedDateTime, then id)."""
    parent = list(range(len(members)))
    pins = [m.pin for m in members]
    first = [m.first or (m.published_at, m.id) for m in members]

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra == rb or (pins[ra] and pins[rb] and pins[ra] != pins[rb]):
            return
        parent[rb] = ra
        pins[ra] = pins[ra] or pins[rb]
        first[ra] = min(first[ra], first[rb])

    together: dict[tuple[str, str], int] = {}
    for i, member in enumerate(members):
        for tag in (("group", member.group), ("pin", member.pin)):
            if tag[1] is not None:
                join(together.setdefault((tag[0], tag[1]), i), i)
    for _, a, b in linked:
        join(a, b)
    return [pins[root] or first[root][1] for root in map(find, range(len(members)))]
