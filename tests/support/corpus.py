"""Deterministic generator of synthetic article files for tests and benchmarks.

Why it exists: the bot's loader, search index and load tests need a large,
realistic article store, and nothing in the project may depend on files that
only maintainers have.  This module writes files in the real store's schema
and formatting: one YAML front-matter document per file (between ``---``
lines, no body), the same key order, double-quoted strings, plain provider
names and topics, blank lines between the groups, an ``images`` entry on about 60%
of articles, 0-6 ``related`` items (about 40% of them with ``images``) and a
``secured`` blob (base64 AES-sized ciphertext, ``;``, base64 16-byte IV).

Content is drawn from fixed word lists with long-tail (Zipf-like) weights so
that topics, providers and full-text terms have realistic skew: 42 topics
(some multi-word, one with ``&``), 150 providers (some non-ASCII or with an
apostrophe), a Heaps-law vocabulary with rare made-up proper names, curly
quotes, em dashes, accents, escaped straight quotes, about 1% CJK text, and
dates over 2022-2024 skewed towards recent months.

Determinism: file ``i`` depends only on ``(seed, i)``.  The same seed gives
byte-identical files, a smaller count gives a prefix of a larger one (only
the zero-padding width of the index in the file name changes), and the
number of worker processes never changes the output.

Usage::

    python -m tests.support.corpus OUTDIR --count N [--seed S] [--drafts-fraction F] [-j N]
        [--stories] [-q]
"""

from __future__ import annotations

import argparse
import base64
import calendar
import hashlib
import json
import math
import multiprocessing
import random
import re
import sys
import time
import unicodedata
from bisect import bisect
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path
from typing import TypeVar

__all__ = [
    "TOPIC_NAMES",
    "main",
    "make_article",
    "make_story_article",
    "planted_story",
    "write_corpus",
]

# --------------------------------------------------------------------------
# Fixed vocabularies.  Order matters: earlier entries get a higher Zipf weight.
# --------------------------------------------------------------------------

# Compact word tables read better than one entry per line.
# fmt: off
# (topic, keywords used in titles/excerpts)
TOPICS: list[tuple[str, list[str]]] = [
    ("AI", ["AI", "artificial intelligence", "chatbots", "generative AI", "ChatGPT",
            "large language models", "OpenAI", "AI models", "GPT-4", "Nvidia", "Gemini"]),
    ("Big Tech", ["Google", "Apple", "Microsoft", "Meta", "Amazon", "antitrust", "app stores"]),
    ("Cybersecurity", ["ransomware", "hackers", "data breach", "vulnerability", "malware",
                       "phishing", "zero-day", "cyberattack", "security flaw"]),
    ("Economy", ["economy", "GDP", "recession", "growth", "jobs report", "consumer spending"]),
    ("US Politics", ["Congress", "Senate", "the White House", "Republicans", "Democrats",
                     "spending bill", "House Speaker"]),
    ("Climate", ["climate change", "emissions", "carbon", "heatwave", "global warming",
                 "drought", "wildfires", "glaciers", "net zero"]),
    ("Elections", ["election", "voters", "ballots", "polls", "campaign", "candidates",
                   "primary", "turnout", "swing states"]),
    ("Stock Markets", ["stocks", "Wall Street", "S&P 500", "Nasdaq", "investors", "earnings",
                       "shares", "bond yields"]),
    ("Geopolitics", ["sanctions", "NATO", "diplomats", "summit", "China", "Russia",
                     "trade war", "tariffs"]),
    ("Health", ["health", "hospitals", "patients", "cancer", "doctors", "treatment",
                "drug prices"]),
    ("Space", ["NASA", "SpaceX", "rocket", "Mars", "satellites", "orbit", "astronauts",
               "telescope", "the Moon", "Starship"]),
    ("AI Ethics", ["AI bias", "AI regulation", "deepfakes", "copyright", "AI safety",
                   "alignment", "transparency", "training data"]),
    ("Cryptocurrency", ["Bitcoin", "crypto", "Ethereum", "blockchain", "stablecoins",
                        "crypto exchange", "tokens", "ETF"]),
    ("Ukraine War", ["Ukraine", "Kyiv", "Russia", "the front line", "drone strikes",
                     "Zelensky", "counteroffensive"]),
    ("Electric Vehicles", ["EVs", "Tesla", "batteries", "charging stations", "electric cars",
                           "BYD", "range anxiety"]),
    ("Semiconductors", ["chips", "TSMC", "Intel", "chipmakers", "semiconductors", "ASML",
                        "export controls"]),
    ("Smartphones", ["iPhone", "Android", "Samsung", "Galaxy", "Pixel", "smartphones",
                     "foldables"]),
    ("Inflation", ["inflation", "prices", "interest rates", "the Federal Reserve", "CPI",
                   "rate cuts", "rate hikes"]),
    ("Renewable Energy", ["solar", "wind farms", "offshore wind", "the grid", "renewables",
                          "green hydrogen", "heat pumps"]),
    ("Startups", ["startups", "funding round", "Series A", "venture capital", "founders",
                  "valuation", "unicorns"]),
    ("Social Media", ["TikTok", "X", "Instagram", "influencers", "content moderation",
                      "Threads", "YouTube"]),
    ("Science", ["researchers", "a new study", "scientists", "discovery", "experiment",
                 "fossils", "physicists"]),
    ("Public Health", ["COVID-19", "vaccines", "outbreak", "the WHO", "pandemic", "measles",
                       "bird flu"]),
    ("Privacy", ["privacy", "data protection", "GDPR", "tracking", "surveillance",
                 "encryption", "facial recognition"]),
    ("Sports", ["the season", "coach", "championship", "league", "playoffs", "the final"]),
    ("Gaming", ["video games", "Nintendo", "PlayStation", "Xbox", "esports", "Steam",
                "game studios"]),
    ("Banking", ["banks", "lenders", "deposits", "credit", "fintech", "regional banks"]),
    ("Movies", ["box office", "the film", "Hollywood", "streaming", "the director",
                "Netflix", "sequels"]),
    ("Open Source", ["open-source", "Linux", "GitHub", "maintainers", "open-source license",
                     "Rust"]),
    ("Labor", ["strike", "unions", "workers", "wages", "layoffs", "remote work"]),
    ("Supreme Court", ["the Supreme Court", "justices", "ruling", "lawsuit", "judge",
                       "appeals court"]),
    ("Football", ["Premier League", "World Cup", "striker", "transfer window", "Champions League"]),
    ("Real Estate", ["housing market", "mortgage rates", "home prices", "rents",
                     "commercial property"]),
    ("Education", ["schools", "students", "teachers", "universities", "tuition",
                   "student loans"]),
    ("Immigration", ["the border", "migrants", "asylum", "visas", "deportations"]),
    ("Robotics", ["robots", "humanoid robots", "automation", "drones", "robotaxis"]),
    ("Travel", ["airlines", "flights", "tourism", "hotels", "passports", "summer travel"]),
    ("Music", ["the album", "world tour", "Spotify", "the singer", "Grammys"]),
    ("Aviation", ["Boeing", "Airbus", "the FAA", "aircraft", "pilots", "jet engines"]),
    ("Quantum Computing", ["quantum computers", "qubits", "IBM", "error correction"]),
    ("Arts & Culture", ["the museum", "exhibition", "artists", "the novel", "theater"]),
    ("Food", ["restaurants", "recipes", "chefs", "food prices", "groceries"]),
]

# topic co-occurrence (undirected)
TOPIC_LINKS = [
    ("AI", "AI Ethics"), ("AI", "Big Tech"), ("AI", "Semiconductors"), ("AI", "Robotics"),
    ("AI", "Startups"), ("AI", "Open Source"), ("AI", "Education"), ("AI Ethics", "Privacy"),
    ("Climate", "Renewable Energy"), ("Climate", "Electric Vehicles"), ("Climate", "Food"),
    ("Elections", "US Politics"), ("Economy", "Inflation"), ("Economy", "Stock Markets"),
    ("Economy", "Banking"), ("Economy", "Labor"), ("Stock Markets", "Cryptocurrency"),
    ("Cybersecurity", "Privacy"), ("Big Tech", "Smartphones"), ("Big Tech", "Social Media"),
    ("Big Tech", "Gaming"), ("Geopolitics", "Ukraine War"), ("Geopolitics", "Semiconductors"),
    ("Health", "Public Health"), ("Science", "Space"), ("Science", "Quantum Computing"),
    ("Sports", "Football"), ("Movies", "Music"), ("Movies", "Arts & Culture"),
    ("Travel", "Aviation"), ("US Politics", "Supreme Court"), ("US Politics", "Immigration"),
    ("Real Estate", "Inflation"), ("Health", "Food"), ("Banking", "Cryptocurrency"),
    ("Elections", "Social Media"), ("Labor", "Robotics"),
]

# (name, domain) -- plain YAML scalars, so no ': ', ' #', or leading indicators
PROVIDERS: list[tuple[str, str]] = [
    ("Reuters", "reuters.com"), ("Associated Press", "apnews.com"), ("BBC News", "bbc.com"),
    ("The Verge", "theverge.com"), ("CNBC", "cnbc.com"), ("The Guardian", "theguardian.com"),
    ("TechCrunch", "techcrunch.com"), ("Bloomberg", "bloomberg.com"),
    ("The New York Times", "nytimes.com"), ("CNN", "cnn.com"),
    ("The Washington Post", "washingtonpost.com"), ("Ars Technica", "arstechnica.com"),
    ("Axios", "axios.com"), ("Wired", "wired.com"), ("VentureBeat", "venturebeat.com"),
    ("Politico", "politico.com"), ("Engadget", "engadget.com"), ("Al Jazeera", "aljazeera.com"),
    ("MIT Technology Review", "technologyreview.com"), ("Financial Times", "ft.com"),
    ("NPR", "npr.org"), ("The Hill", "thehill.com"), ("Business Insider", "businessinsider.com"),
    ("Forbes", "forbes.com"), ("ZDNet", "zdnet.com"), ("Government Technology", "govtech.com"),
    ("The Wall Street Journal", "wsj.com"), ("Fortune", "fortune.com"), ("CNET", "cnet.com"),
    ("The Register", "theregister.com"), ("Yahoo Finance", "finance.yahoo.com"),
    ("Fox News", "foxnews.com"), ("NBC News", "nbcnews.com"), ("CBS News", "cbsnews.com"),
    ("ABC News", "abcnews.go.com"), ("USA Today", "usatoday.com"),
    ("The Economist", "economist.com"),
    ("MarketWatch", "marketwatch.com"), ("Barron's", "barrons.com"), ("Space.com", "space.com"),
    ("BleepingComputer", "bleepingcomputer.com"), ("CoinDesk", "coindesk.com"),
    ("Electrek", "electrek.co"), ("STAT", "statnews.com"), ("ESPN", "espn.com"),
    ("Variety", "variety.com"), ("IGN", "ign.com"), ("Deutsche Welle", "dw.com"),
    ("Euronews", "euronews.com"), ("Le Monde", "lemonde.fr"), ("El País", "elpais.com"),
    ("South China Morning Post", "scmp.com"), ("Nikkei Asia", "asia.nikkei.com"),
    ("The Japan Times", "japantimes.co.jp"), ("Los Angeles Times", "latimes.com"),
    ("The Atlantic", "theatlantic.com"), ("Vox", "vox.com"), ("Gizmodo", "gizmodo.com"),
    ("Mashable", "mashable.com"), ("Tom's Hardware", "tomshardware.com"), ("PCMag", "pcmag.com"),
    ("9to5Mac", "9to5mac.com"), ("MacRumors", "macrumors.com"),
    ("Android Authority", "androidauthority.com"), ("The Next Web", "thenextweb.com"),
    ("SiliconANGLE", "siliconangle.com"), ("InfoWorld", "infoworld.com"),
    ("Dark Reading", "darkreading.com"), ("SecurityWeek", "securityweek.com"),
    ("The Record", "therecord.media"), ("Cointelegraph", "cointelegraph.com"),
    ("Decrypt", "decrypt.co"), ("SpaceNews", "spacenews.com"),
    ("Scientific American", "scientificamerican.com"), ("Nature", "nature.com"),
    ("New Scientist", "newscientist.com"), ("Live Science", "livescience.com"),
    ("Phys.org", "phys.org"), ("Quanta Magazine", "quantamagazine.org"),
    ("Inside Climate News", "insideclimatenews.org"), ("Grist", "grist.org"),
    ("Carbon Brief", "carbonbrief.org"), ("InsideEVs", "insideevs.com"),
    ("CleanTechnica", "cleantechnica.com"), ("KFF Health News", "kffhealthnews.org"),
    ("The Athletic", "theathletic.com"), ("Sky Sports", "skysports.com"),
    ("The Hollywood Reporter", "hollywoodreporter.com"), ("Deadline", "deadline.com"),
    ("Rolling Stone", "rollingstone.com"), ("Billboard", "billboard.com"),
    ("Polygon", "polygon.com"),
    ("Kotaku", "kotaku.com"), ("PC Gamer", "pcgamer.com"), ("Eater", "eater.com"),
    ("Bon Appétit", "bonappetit.com"), ("Condé Nast Traveler", "cntraveler.com"),
    ("Travel + Leisure", "travelandleisure.com"), ("Skift", "skift.com"),
    ("Simple Flying", "simpleflying.com"), ("Aviation Week", "aviationweek.com"),
    ("Inside Higher Ed", "insidehighered.com"), ("EdSurge", "edsurge.com"),
    ("Education Week", "edweek.org"), ("SCOTUSblog", "scotusblog.com"),
    ("Roll Call", "rollcall.com"),
    ("Foreign Policy", "foreignpolicy.com"), ("Defense One", "defenseone.com"),
    ("The Kyiv Independent", "kyivindependent.com"), ("France 24", "france24.com"),
    ("Der Spiegel", "spiegel.de"), ("Süddeutsche Zeitung", "sueddeutsche.de"),
    ("Corriere della Sera", "corriere.it"), ("Folha de S.Paulo", "folha.uol.com.br"),
    ("The Times of India", "timesofindia.indiatimes.com"),
    ("Hindustan Times", "hindustantimes.com"),
    ("The Korea Herald", "koreaherald.com"), ("The Straits Times", "straitstimes.com"),
    ("ABC Australia", "abc.net.au"), ("The Sydney Morning Herald", "smh.com.au"),
    ("CBC News", "cbc.ca"), ("The Globe and Mail", "theglobeandmail.com"),
    ("The Irish Times", "irishtimes.com"), ("The Independent", "independent.co.uk"),
    ("Sky News", "news.sky.com"), ("Semafor", "semafor.com"), ("Rest of World", "restofworld.org"),
    ("The Information", "theinformation.com"), ("Platformer", "platformer.news"),
    ("404 Media", "404media.co"), ("Fast Company", "fastcompany.com"), ("Inc.", "inc.com"),
    ("Harvard Business Review", "hbr.org"), ("Quartz", "qz.com"),
    ("HousingWire", "housingwire.com"),
    ("American Banker", "americanbanker.com"), ("The Conversation", "theconversation.com"),
    ("ProPublica", "propublica.org"), ("Nieman Lab", "niemanlab.org"),
    ("Voice of America", "voanews.com"), ("Radio Free Europe/Radio Liberty", "rferl.org"),
    ("Newsweek", "newsweek.com"), ("Time", "time.com"), ("HuffPost", "huffpost.com"),
    ("Le Figaro", "lefigaro.fr"), ("Krebs on Security", "krebsonsecurity.com"),
    ("The Points Guy", "thepointsguy.com"), ("Chalkbeat", "chalkbeat.org"),
    ("Lawfare", "lawfaremedia.org"), ("Canary Media", "canarymedia.com"),
]

# specialist outlets per topic (picked half the time for that primary topic)
BEATS: dict[str, list[str]] = {
    "AI": ["VentureBeat", "MIT Technology Review", "The Verge", "TechCrunch", "Wired"],
    "AI Ethics": ["MIT Technology Review", "Wired", "Rest of World", "404 Media"],
    "Cybersecurity": ["BleepingComputer", "Dark Reading", "SecurityWeek", "The Record",
                      "Krebs on Security", "The Register"],
    "Cryptocurrency": ["CoinDesk", "Cointelegraph", "Decrypt"],
    "Space": ["Space.com", "SpaceNews", "Ars Technica"],
    "Climate": ["Inside Climate News", "Grist", "Carbon Brief", "The Guardian"],
    "Renewable Energy": ["Canary Media", "CleanTechnica", "Carbon Brief"],
    "Electric Vehicles": ["Electrek", "InsideEVs", "CleanTechnica"],
    "Health": ["STAT", "KFF Health News"], "Public Health": ["STAT", "KFF Health News"],
    "Sports": ["ESPN", "The Athletic", "Sky Sports"], "Football": ["Sky Sports", "The Athletic"],
    "Movies": ["Variety", "The Hollywood Reporter", "Deadline"],
    "Music": ["Rolling Stone", "Billboard"], "Gaming": ["IGN", "Polygon", "Kotaku", "PC Gamer"],
    "Food": ["Eater", "Bon Appétit"], "Travel": ["Condé Nast Traveler", "Travel + Leisure", "Skift",
                                                  "The Points Guy"],
    "Aviation": ["Simple Flying", "Aviation Week"],
    "Education": ["Inside Higher Ed", "EdSurge", "Education Week", "Chalkbeat"],
    "Supreme Court": ["SCOTUSblog", "Lawfare"],
    "US Politics": ["Politico", "The Hill", "Roll Call"],
    "Elections": ["Politico", "The Hill", "Axios"],
    "Geopolitics": ["Foreign Policy", "Defense One", "Al Jazeera"],
    "Ukraine War": ["The Kyiv Independent", "Radio Free Europe/Radio Liberty", "Deutsche Welle"],
    "Smartphones": ["9to5Mac", "MacRumors", "Android Authority"],
    "Semiconductors": ["Tom's Hardware", "Nikkei Asia", "The Register"],
    "Stock Markets": ["MarketWatch", "Barron's", "Yahoo Finance", "CNBC"],
    "Banking": ["American Banker", "Financial Times"], "Real Estate": ["HousingWire"],
    "Startups": ["TechCrunch", "The Information"], "Open Source": ["The Register", "InfoWorld"],
    "Science": ["Nature", "New Scientist", "Live Science", "Phys.org", "Quanta Magazine"],
    "Quantum Computing": ["Quanta Magazine", "New Scientist"],
}

CJK_PROVIDERS = ["Nikkei Asia", "South China Morning Post", "The Japan Times", "The Korea Herald",
                 "The Straits Times"]

ENTITIES = [
    "Google", "Apple", "Microsoft", "China", "Amazon", "the EU", "Meta", "Nvidia", "India",
    "OpenAI", "Tesla", "the UK", "Biden", "Trump", "Samsung", "California", "Musk", "Japan",
    "Germany", "Intel", "the Fed", "Texas", "Europe", "IBM", "Netflix", "France", "Disney",
    "Macron", "Boeing", "New York", "London", "Brazil", "Sony", "TikTok", "Uber", "Canada",
    "Australia", "Anthropic", "Baidu", "Alibaba", "Huawei", "Mexico", "Spain", "Airbnb",
    "Spotify", "Toyota", "Volkswagen", "Qualcomm", "AMD", "Oracle", "Salesforce", "Beijing",
    "Tokyo", "Berlin", "Paris", "Brussels", "Singapore", "Dubai", "Florida", "Nigeria", "Kenya",
    "Indonesia", "Poland", "Italy", "Saudi Arabia", "South Korea", "Taiwan", "Israel", "Iran",
    "Modi", "Xi Jinping", "Scholz", "Sunak", "Starmer", "Meloni", "Kishida", "Putin",
    "Zuckerberg", "Altman", "Nadella", "Pichai", "Bezos", "Tim Cook", "Jensen Huang", "Lagarde",
    "Powell", "Yellen", "Guterres", "JPMorgan", "Goldman Sachs", "BlackRock", "Pfizer",
    "Moderna", "Mistral", "Tencent", "ASML", "Arm", "PayPal", "Visa", "Adobe", "Ford", "GM",
    "Stellantis", "Siemens", "Zürich", "Lula da Silva", "Erdoğan", "Nestlé", "São Paulo",
    "Sánchez", "Bogotá", "Montréal", "Québec", "Kraków", "Gdańsk", "Reykjavík", "Düsseldorf",
    "Málaga", "Société Générale", "Škoda", "Citroën", "Pokémon", "Beyoncé", "Türkiye",
]

# long tail of rare proper names (people, companies, places) built from syllables,
# ranked log-uniformly (Zipf s~1) over NAME_RANKS ranks -> Heaps-law vocabulary growth
SYLLABLES = ["ka", "lo", "mi", "ren", "tor", "va", "shi", "del", "ar", "no", "bel", "qua", "zi",
             "mon", "ter", "lis", "gra", "ven", "co", "dru", "sa", "pel", "or", "fin", "ha", "jo",
             "ku", "le", "ma", "nesh", "ol", "pri", "ro", "sten", "ul", "wi", "ya", "zan", "bo",
             "cer", "dan", "ex", "gal", "hol", "in", "jas", "kel", "lun", "mar", "nor"]
NAME_RANKS = 120_000
FIRST_NAMES = ["John", "Sarah", "Michael", "Maria", "David", "Emma", "James", "Anna", "Robert",
               "Laura", "Wei", "Priya", "Ahmed", "Olga", "Carlos", "Yuki", "Fatima", "Daniel",
               "Elena", "Kwame", "Sofia", "Ali", "Grace", "Lucas", "Mei", "Omar", "Hannah",
               "Raj", "Ines", "Tom", "Nadia", "Pedro", "Aisha", "Jonas", "Chloe", "Ivan",
               "José", "François", "Zoë", "Søren", "Łukasz", "Björn", "Chloé", "Müge"]
COMPANY_SUFFIX = ["Labs", "Systems", "Group", "Capital", "Energy", "Health", "Motors", "AI",
                  "Bank", "Therapeutics", "Robotics", "Networks", "Games", "Foods", "Airways"]

SUBJECTS = [
    "regulators", "investors", "lawmakers", "researchers", "officials", "experts", "critics",
    "executives", "workers", "users", "analysts", "customers", "economists", "companies",
    "startups", "governments", "voters", "developers", "scientists", "engineers", "fans",
    "doctors", "teachers", "students", "parents", "cities", "states", "banks", "airlines",
    "automakers", "retailers", "hospitals", "universities", "insurers", "landlords", "unions",
    "activists", "judges", "prosecutors", "police", "diplomats", "farmers", "creators",
    "publishers", "streamers", "artists", "athletes", "coaches", "tenants", "shoppers",
]

VERBS = [  # base forms; 3rd person derived by rule
    "say", "warn", "plan", "launch", "unveil", "face", "win", "cut", "raise", "delay",
    "expand", "ban", "back", "reject", "approve", "target", "boost", "slow", "hit", "eye",
    "weigh", "seek", "sue", "buy", "sell", "drop", "add", "test", "build", "open", "close",
    "push", "reveal", "top", "beat", "miss", "double", "halt", "resume", "extend", "sign",
    "join", "name", "hire", "announce", "confirm", "deny", "explore", "predict", "struggle with",
    "rally behind", "probe", "fund", "block", "challenge", "embrace", "scrap", "overhaul",
    "slash", "lift", "tighten", "ease", "restore", "release", "ship", "roll out", "pause",
    "accelerate", "question", "defend", "criticize", "welcome", "adopt", "abandon", "prepare",
    "revive", "rethink", "outpace", "surpass", "lose", "leave",
]

ADJECTIVES = [
    "new", "big", "first", "major", "global", "record", "top", "key", "latest", "rising",
    "higher", "faster", "cheaper", "better", "early", "local", "national", "federal", "public",
    "private", "open", "free", "digital", "next", "final", "long", "strong", "weak", "surprising",
    "controversial", "massive", "bold", "quiet", "critical", "rare", "hidden", "ambitious",
    "cheap", "risky", "secret", "sweeping", "tough", "fragile", "slow", "lower", "falling",
    "smaller", "best-in-class", "long-awaited", "state-backed", "low-cost", "high-stakes",
    "cross-border", "real-time", "third-party", "unexpected", "historic", "costly", "urgent",
    "annual", "aggressive", "broad", "crucial", "domestic", "dramatic", "emerging", "entire",
    "experimental", "extra", "familiar", "foreign", "fresh", "full", "growing", "huge", "illegal",
    "independent", "initial", "internal", "joint", "largest", "legal", "limited", "modest",
    "narrow", "official", "ongoing", "political", "popular", "powerful", "preliminary", "rapid",
    "regional", "remote", "senior", "serious", "severe", "sharp", "significant", "similar",
    "steady", "strict", "sudden", "temporary", "ultimate", "unusual", "viral", "wider", "worst",
]

NOUNS = [
    "plan", "deal", "report", "rules", "talks", "costs", "prices", "growth", "risks", "demand",
    "sales", "profits", "jobs", "tax", "budget", "data", "users", "future", "market", "industry",
    "policy", "law", "record", "crisis", "push", "fight", "bid", "move", "boost", "shift", "surge",
    "drop", "gains", "losses", "delays", "concerns", "questions", "warning", "probe", "ban",
    "limits", "support", "pressure", "funding", "investment", "strategy", "leaders", "deadline",
    "rollout", "outage", "recall", "merger", "lawsuit", "fines", "subsidies", "targets",
    "forecast", "shortage", "backlash", "comeback", "slowdown", "upgrade", "overhaul", "network",
    "platform", "service", "feature", "update", "version", "model", "tool", "system", "project",
    "program", "partnership", "acquisition", "agreement", "proposal", "decision", "review",
    "investigation", "hearing", "vote", "veto", "protest", "debate", "survey", "index", "boom",
    "bubble", "race", "battle", "gap", "divide", "threat", "danger", "promise", "hype",
    "handouts", "moats", "innovation", "performance", "versions", "firms", "code", "shop",
    "access", "advice", "agenda", "alliance", "app", "approach", "assets", "audit", "award",
    "balance", "benefits", "bill", "board", "bonds", "border", "brand", "breakthrough", "bridge",
    "campus", "capacity", "career", "cash", "ceiling", "center", "challenge", "change", "chief",
    "claims", "climate", "coalition", "collapse", "commission", "community", "competition",
    "complaint", "conference", "conflict", "contract", "control", "council", "course", "court",
    "coverage", "crackdown", "credit", "crew", "culture", "customers", "cycle", "damage", "debt",
    "defense", "design", "device", "dispute", "district", "dividend", "doctors", "downturn",
    "drought", "economy", "edge", "effort", "election", "emergency", "energy", "engine",
    "estimate", "evidence", "exit", "expansion", "exports", "exposure", "factory", "failure",
    "families", "festival", "fire", "fleet", "flood", "focus", "footprint", "framework", "freeze",
    "fuel", "gamble", "goal", "grants", "guidance", "guidelines", "headquarters", "health",
    "heat", "homes", "hurdle", "imports", "incentives", "income", "inquiry", "insurance",
    "interest", "inventory", "jury", "label", "launch", "leak", "lease", "lending", "license",
    "loan", "lobby", "loophole", "majority", "manufacturing", "margin", "members", "message",
    "milestone", "mission", "momentum", "mortgage", "neighborhood", "office", "oil", "order",
    "outlook", "output", "owners", "pact", "panel", "patent", "pay", "penalty", "pension",
    "permit", "pipeline", "pledge", "power", "premium", "pricing", "production", "profit",
    "prototype", "quarter", "rally", "rates", "reaction", "recovery", "reform", "refund",
    "relief", "rent", "rescue", "reserve", "resistance", "resources", "response", "revenue",
    "rights", "rivals", "safety", "salary", "savings", "scandal", "schedule", "scheme", "screen",
    "sector", "security", "settlement", "signal", "site", "software", "spending", "stake",
    "standards", "stimulus", "storm", "subscription", "suppliers", "supply", "talent", "tariff",
    "team", "tensions", "terms", "trade", "traffic", "training", "trial", "truce", "trust",
    "turnaround", "uncertainty", "unit", "valuation", "vaccine", "verdict", "victory", "volume",
    "wages", "waste", "water", "wave", "wealth", "weapons", "window", "workforce", "yields",
]

PREPS = ["amid", "after", "over", "as", "in", "for", "despite", "ahead of", "with", "against",
         "without", "on"]

PLACES = ["Europe", "Asia", "Africa", "the US", "China", "India", "Latin America", "the Gulf",
          "London", "Texas", "California", "Zürich", "São Paulo", "Bogotá", "Québec", "Kraków"]

TIMES = ["this year", "next year", "in 2024", "in 2025", "by 2030", "this week", "next month",
         "for the first time", "again", "so far"]

SPEAKERS = ["an analyst", "a spokesperson", "the company", "one executive", "a senior official",
            "the researchers", "the report", "a person familiar with the matter", "the minister",
            "the CEO", "a union leader", "the agency"]

SINGULAR_S = {"Mars", "Congress", "Threads", "Series A", "the Fed", "the Federal Reserve",
              "news", "ChatGPT"}

CONNECT = ["and", "but", "while", "because", "after", "before", "so", "even as", "although"]

SAID = ["said", "says", "told reporters", "wrote in a statement", "said on Tuesday",
        "said in an interview", "according to a filing"]

SMALL = {"a", "an", "the", "of", "in", "on", "for", "to", "and", "or", "as", "at", "by", "with",
         "over", "amid", "after", "from", "into", "vs", "but", "ahead", "despite", "against",
         "without"}

CJK_ZH = ["人工智能", "气候变化", "选举", "网络安全", "经济", "科技公司", "发布", "新模型", "市场",
          "投资者", "芯片", "电动汽车", "监管机构", "数据", "增长", "政府", "计划", "报告"]
CJK_JA = ["東京", "株価", "半導体", "生成AI", "選挙", "宇宙", "発表", "新型", "円安", "日銀",
          "政府", "企業", "開発", "調査", "世界", "市場"]
CJK_KO = ["삼성전자", "반도체", "인공지능", "서울", "정부", "발표", "시장", "투자"]

IMAGE_SIZES = [(3000, 1688), (1200, 675), (1920, 1080), (800, 450), (1024, 683), (2048, 1365),
               (1600, 900), (640, 360)]
# fmt: on

PICTURED_FRACTION = 0.6  # stories with a picture of their own (an `images` entry)
URL_STYLES = 6  # URL shape is fixed per provider: index % URL_STYLES
START_TS = 1640995200  # 2022-01-01T00:00:00Z
SPAN_MIN = 3 * 365 * 24 * 60  # three years, in minutes


# --------------------------------------------------------------------------
# Derived tables (cumulative weights for bisect-based weighted choice)
# --------------------------------------------------------------------------


def _cum(n: int, s: float = 1.0) -> list[float]:
    """Cumulative Zipf weights 1/r**s for ranks 1..n."""
    return list(accumulate(1.0 / (r**s) for r in range(1, n + 1)))


#: Topic names, most common first (benchmarks use this to pick hot/cold topics).
TOPIC_NAMES: list[str] = [t for t, _ in TOPICS]
_TOPIC_KW = dict(TOPICS)
_TOPIC_CW = _cum(len(TOPICS), 1.0)
_NEIGHBORS: dict[str, list[str]] = {t: [] for t in TOPIC_NAMES}
for _a, _b in TOPIC_LINKS:
    _NEIGHBORS[_a].append(_b)
    _NEIGHBORS[_b].append(_a)
_PROV_INDEX = {name: i for i, (name, _) in enumerate(PROVIDERS)}
_PROV_CW = _cum(len(PROVIDERS), 0.9)
_ENT_CW = _cum(len(ENTITIES), 0.9)
_FIRST_CW = _cum(len(FIRST_NAMES), 0.8)
_LOG_NAME_RANKS = math.log(NAME_RANKS + 1)
_SUBJ_CW = _cum(len(SUBJECTS), 1.0)
_VERB_CW = _cum(len(VERBS), 0.6)
_ADJ_CW = _cum(len(ADJECTIVES), 0.7)
_NOUN_CW = _cum(len(NOUNS), 0.6)
_SEC_LEN = [240, 256, 272, 288, 304]
_SEC_CW = list(accumulate([1, 2, 4, 2, 1]))
_REL_CW = list(accumulate([18, 24, 20, 15, 11, 7, 5]))  # 0..6 related items
_NTOP_CW = list(accumulate([35, 35, 20, 10]))  # 1..4 topics
_NSENT_CW = list(accumulate([6, 30, 38, 26]))  # 1..4 excerpt sentences

_NON_SLUG = re.compile(r"[^a-z0-9]+")
_OPENERS = "‘“\"'("
_MIN_FILES_PER_JOB = 250  # below this, a worker process costs more than it saves

_T = TypeVar("_T")


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _pick(rng: random.Random, seq: Sequence[_T], cw: Sequence[float]) -> _T:
    """Weighted choice by cumulative weights (faster than random.choices for one item)."""
    return seq[bisect(cw, rng.random() * cw[-1])]


def _rare_name(rng: random.Random) -> str:
    """A made-up word whose rank is log-uniform in 1..NAME_RANKS (Heaps-law vocabulary)."""
    r = int(math.exp(rng.random() * _LOG_NAME_RANKS)) + len(SYLLABLES) - 1
    parts = []
    while r:
        r, d = divmod(r, len(SYLLABLES))
        parts.append(SYLLABLES[d])
    w = "".join(parts)
    return w[0].upper() + w[1:]


def _rare_entity(rng: random.Random) -> str:
    """A rare person, company or bare name, so search sees singleton terms."""
    x = rng.random()
    if x < 0.5:
        return _pick(rng, FIRST_NAMES, _FIRST_CW) + " " + _rare_name(rng)
    if x < 0.85:
        return _rare_name(rng) + " " + rng.choice(COMPANY_SUFFIX)
    return _rare_name(rng)


def _third(verb: str) -> str:
    """Third-person singular of a (possibly phrasal) verb: 'push' -> 'pushes'."""
    head, sep, rest = verb.partition(" ")
    if head.endswith(("s", "sh", "ch", "x", "z")):
        head += "es"
    elif head.endswith("y") and head[-2] not in "aeiou":
        head = head[:-1] + "ies"
    else:
        head += "s"
    return head + sep + rest


_VERBS3 = [_third(v) for v in VERBS]


def _yq(s: str) -> str:
    """YAML double-quoted scalar, as the real store writes strings."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _title_case(s: str) -> str:
    """Headline case the way many outlets do it (small words stay lower)."""
    out = []
    for i, w in enumerate(s.split(" ")):
        core = w.lstrip(_OPENERS)
        lead = w[: len(w) - len(core)]
        if core and core.islower() and (i == 0 or core not in SMALL or lead):
            core = "-".join(p[:1].upper() + p[1:] for p in core.split("-"))
        out.append(lead + core)
    return " ".join(out)


def _sentence_case(s: str) -> str:
    """Upper-case the first letter, skipping opening quotes and brackets."""
    i = 0
    while i < len(s) and s[i] in _OPENERS:
        i += 1
    return s[:i] + s[i : i + 1].upper() + s[i + 1 :]


def _slugify(s: str) -> str:
    """ASCII URL slug (accents folded, CJK dropped), at most about 80 characters."""
    a = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()
    slug = _NON_SLUG.sub("-", a).strip("-")
    if len(slug) > 80:
        slug = slug[:80].rsplit("-", 1)[0]
    return slug


def _iso(ts: int) -> str:
    """Minute-precision UTC timestamp as the store writes it."""
    tm = time.gmtime(ts)
    return f"{tm[0]:04d}-{tm[1]:02d}-{tm[2]:02d}T{tm[3]:02d}:{tm[4]:02d}:00Z"


# --------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------


class _Text:
    """Topic-aware headline and excerpt builder for one article."""

    def __init__(self, rng: random.Random, topics: list[str]) -> None:
        self.r = rng
        self.kw = [k for t in topics for k in _TOPIC_KW[t]]

    def kwd(self) -> str:
        return self.r.choice(self.kw)

    def subj(self) -> tuple[str, bool]:
        """A subject and whether it is plural (for verb agreement)."""
        r = self.r
        x = r.random()
        if x < 0.35:
            k = self.kwd()
            return k, k.endswith("s") and not k.endswith("ss") and k not in SINGULAR_S
        if x < 0.6:
            return _pick(r, ENTITIES, _ENT_CW), False
        if x < 0.75:
            return _rare_entity(r), False
        return _pick(r, SUBJECTS, _SUBJ_CW), True

    def verb(self, plural: bool) -> str:
        i = bisect(_VERB_CW, self.r.random() * _VERB_CW[-1])
        return VERBS[i] if plural else _VERBS3[i]

    def adj_noun(self) -> str:
        r = self.r
        return _pick(r, ADJECTIVES, _ADJ_CW) + " " + _pick(r, NOUNS, _NOUN_CW)

    def np(self) -> str:
        """A noun phrase."""
        r = self.r
        x = r.random()
        if x < 0.3:
            return self.kwd()
        if x < 0.36:
            return _pick(r, ENTITIES, _ENT_CW) + "’s " + _pick(r, NOUNS, _NOUN_CW)
        if x < 0.42:
            return _rare_entity(r) + "’s " + _pick(r, NOUNS, _NOUN_CW)
        if x < 0.52:
            return self.kwd() + " " + _pick(r, NOUNS, _NOUN_CW)
        if x < 0.8:
            return self.adj_noun()
        if x < 0.9:
            return "the " + _pick(r, NOUNS, _NOUN_CW)
        return _pick(r, ADJECTIVES, _ADJ_CW) + " " + self.kwd()

    def tail(self) -> str:
        """An optional trailing time, place, clause or prepositional phrase."""
        r = self.r
        x = r.random()
        if x < 0.35:
            return ""
        if x < 0.5:
            return " " + r.choice(TIMES)
        if x < 0.6:
            return " in " + r.choice(PLACES)
        if x < 0.7:
            return " as " + self.clause()
        return " " + r.choice(PREPS) + " " + self.np()

    def clause(self) -> str:
        s, plural = self.subj()
        return s + " " + self.verb(plural) + " " + self.np()

    def title(self, titlecase: bool) -> str:
        r = self.r
        x = r.random()
        if x < 0.42:
            t = self.clause() + self.tail()
        elif x < 0.52:
            t = "why " + self.clause()
        elif x < 0.58:
            t = "how " + self.clause()
        elif x < 0.64:
            t = f"will {self.subj()[0]} {_pick(r, VERBS, _VERB_CW)} {self.np()}?"
        elif x < 0.67:
            t = "how long will the " + self.np() + " "
            t += r.choice(["boom", "rally", "hype", "truce"]) + " last?"
        elif x < 0.72:
            t = f"{r.randint(3, 12)} things to know about {self.np()}"
        elif x < 0.8:
            t = self.clause() + " — " + r.choice(["and ", "but ", "here’s why ", "while "])
            t += self.clause()
        elif x < 0.86:
            t = _pick(r, ENTITIES, _ENT_CW) + ": " + self.clause()
        elif x < 0.9:
            t = "‘" + self.adj_noun() + "’: " + self.clause()
        elif x < 0.94:
            t = "what " + self.np() + " means for " + self.subj()[0]
        elif x < 0.96:
            sj, pl = self.subj()
            t = sj + (" call " if pl else " calls ") + self.np() + ' "' + self.adj_noun() + '"'
        else:
            t = (
                self.clause()
                + ", "
                + r.choice(["report says", "sources say", "study finds", "poll shows"])
            )
        if "$" not in t and r.random() < 0.08:
            t += f" with ${r.randint(1, 900)} {r.choice(['million', 'billion'])}"
        return _title_case(t) if titlecase else _sentence_case(t)

    def sentence(self) -> str:
        r = self.r
        x = r.random()
        if x < 0.42:
            s = self.clause() + self.tail()
        elif x < 0.48:
            s = self.clause() + " " + r.choice(CONNECT) + " " + self.clause()
        elif x < 0.53:
            s = "it’s " + r.choice(
                [
                    "the first",
                    "the latest",
                    "a rare",
                    "another",
                    "a clear",
                    "the strongest",
                    "an early",
                ]
            )
            s += " " + r.choice(["sign", "signal", "indication", "example", "test"])
            s += " that " + self.clause()
        elif x < 0.61:
            s = "“" + _sentence_case(self.clause()) + ",” " + r.choice(SPEAKERS)
            s += " " + r.choice(SAID)
        elif x < 0.65:
            s = r.choice(["there are now", "there is", "expect", "look for"]) + " "
            s += self.adj_noun() + " " + r.choice(["of", "for", "from", "behind"]) + " "
            s += self.np() + " — and " + self.clause()
        elif x < 0.69:
            s = r.choice(["but if", "if", "unless", "when", "once"]) + " " + self.clause() + ", "
            s += r.choice(["they", "it", "others", "rivals", "the company"]) + " "
            s += r.choice(["could", "may", "will", "might", "would"]) + " "
            s += _pick(r, VERBS, _VERB_CW) + " " + self.np()
        elif x < 0.75:
            s = "the " + _pick(r, NOUNS, _NOUN_CW) + " "
            s += r.choice(["rose", "fell", "jumped", "slipped", "climbed", "dropped", "grew"])
            s += f" {r.randint(1, 60)}% {r.choice(TIMES)}"
        elif x < 0.8:
            sj, pl = self.subj()
            neg = r.choice(["don’t" if pl else "doesn’t", "won’t", "can’t", "didn’t"])
            s = sj + " " + neg + " " + _pick(r, VERBS, _VERB_CW) + " " + self.np() + self.tail()
        elif x < 0.84:
            s = r.choice(["greater", "cheaper", "wider", "faster", "easier"]) + " "
            s += r.choice(["access to", "demand for", "use of", "spending on"]) + " "
            s += self.np() + " "
            s += r.choice(["is fueling", "is driving", "threatens", "could reshape", "is boosting"])
            s += " " + self.np() + self.tail()
        elif x < 0.9:
            s = r.choice(
                [
                    "the move",
                    "the decision",
                    "the deal",
                    "the report",
                    "the change",
                    "the announcement",
                    "the ruling",
                ]
            )
            s += " " + r.choice(["comes as", "follows", "means", "could mean", "suggests"])
            s += " " + self.clause()
        else:
            s = self.clause() + self.tail() + ", " + r.choice(SPEAKERS) + " " + r.choice(SAID)
        return _sentence_case(s) + "."

    def excerpt(self) -> str:
        n = 1 + bisect(_NSENT_CW, self.r.random() * _NSENT_CW[-1])
        return " ".join(self.sentence() for _ in range(n))

    def cjk(self) -> tuple[str, str]:
        """An unspaced Chinese/Japanese or spaced Korean (title, excerpt)."""
        r = self.r
        x = r.random()
        if x < 0.5:
            words, sep, stop = CJK_ZH, "", "。"
        elif x < 0.85:
            words, sep, stop = CJK_JA, "", "。"
        else:
            words, sep, stop = CJK_KO, " ", "."
        lead = self.kwd() + " " if r.random() < 0.5 else ""
        title = _sentence_case(lead + sep.join(r.choice(words) for _ in range(r.randint(3, 6))))
        ex = "".join(
            sep.join(r.choice(words) for _ in range(r.randint(4, 9))) + stop
            for _ in range(r.randint(1, 3))
        )
        return title, ex


# --------------------------------------------------------------------------
# Articles
# --------------------------------------------------------------------------


def _provider_for(rng: random.Random, primary: str, cjk: bool, avoid: int = -1) -> int:
    """Provider index: Asian outlets for CJK, specialists half the time, else long tail."""
    while True:
        if cjk and rng.random() < 0.8:
            i = _PROV_INDEX[rng.choice(CJK_PROVIDERS)]
        elif primary in BEATS and rng.random() < 0.5:
            i = _PROV_INDEX[rng.choice(BEATS[primary])]
        else:
            i = bisect(_PROV_CW, rng.random() * _PROV_CW[-1])
        if i != avoid:
            return i


def _make_url(rng: random.Random, pidx: int, ts: int, slug: str, section: str) -> str:
    """An article URL in one of several real-world styles (fixed per provider)."""
    domain = PROVIDERS[pidx][1]
    host = "www." + domain if domain.count(".") == 1 else domain
    slug = slug or "article"
    tm = time.gmtime(ts)
    ymd = f"{tm[0]:04d}/{tm[1]:02d}/{tm[2]:02d}"
    style = pidx % URL_STYLES
    if style == 0:
        return f"https://{host}/{section}/{slug}"
    if style == 1:
        return f"https://{host}/{ymd}/{rng.randint(1000000, 9999999)}/{slug}/"
    if style == 2:
        return f"https://{host}/news/{slug}-{rng.randint(10000000, 99999999)}"
    if style == 3:
        return f"https://{host}/{section}/{ymd}/{slug}.html"
    if style == 4:
        return f"https://{host}/article/{slug}-{rng.getrandbits(32):08x}"
    return f"https://{host}/{tm[0]:04d}/{tm[1]:02d}/{slug}/"


def _pick_topics(rng: random.Random) -> list[str]:
    """1-4 topics; after the first, related topics are preferred (co-occurrence)."""
    n = 1 + bisect(_NTOP_CW, rng.random() * _NTOP_CW[-1])
    chosen = [_pick(rng, TOPIC_NAMES, _TOPIC_CW)]
    while len(chosen) < n:
        if rng.random() < 0.6:
            cands = [t for c in chosen for t in _NEIGHBORS[c] if t not in chosen]
            if cands:
                chosen.append(rng.choice(cands))
                continue
        t = _pick(rng, TOPIC_NAMES, _TOPIC_CW)
        if t not in chosen:
            chosen.append(t)
    return chosen


def _related_lines(
    rng: random.Random, txt: _Text, primary: str, section: str, cjk: bool, pidx: int, ts: int
) -> list[str]:
    """The ``related:`` group (empty when the article has no related items)."""
    r = rng.random
    nrel = bisect(_REL_CW, r() * _REL_CW[-1])
    if not nrel:
        return []
    lines = ["related:"]
    for _ in range(nrel):
        rp = _provider_for(rng, primary, cjk and r() < 0.5, avoid=pidx)
        rname, rdomain = PROVIDERS[rp]
        if cjk and r() < 0.5:
            rt, rx = txt.cjk()
        else:
            rt, rx = txt.title(rp % 5 < 3), txt.excerpt()
        rts = ts + rng.randint(-3 * 86400, 3 * 86400) // 60 * 60
        rurl = _make_url(rng, rp, rts, _slugify(rt), section)
        lines += [
            "  - title: " + _yq(rt),
            "    excerpt: " + _yq(rx),
            "    publishedDateTime: " + _iso(rts),
            "    webUrl: " + _yq(rurl),
        ]
        if r() < 0.3:
            amp = rurl.rstrip("/") + "/amp/"
            rest = amp.split("://", 1)[1]
            chost = rest.split("/", 1)[0].replace("-", "--").replace(".", "-")
            lines.append("    ampWebUrl: " + _yq(amp))
            lines.append(
                "    cdnAmpWebUrl: " + _yq(f"https://{chost}.cdn.ampproject.org/c/s/{rest}")
            )
        lines += [
            "    type: article",
            "    provider:",
            "      name: " + rname,
            "      domain: " + rdomain,
            f"    quality: {int(rng.triangular(0, 100.999, 50))}",
        ]
        if r() < 0.4:
            lines.append("    images:")
            for k in range(2 if r() < 0.15 else 1):
                lines += _image_entry(rng, rdomain, rts, rt, k, "    ")
    lines.append("")
    return lines


def _image_entry(
    rng: random.Random, domain: str, ts: int, title: str, k: int, indent: str
) -> list[str]:
    """Picture ``k`` of a story: one ``images`` entry (url, width, height, isCached) as the
    store writes it, its lines indented by ``indent`` plus two spaces."""
    tm = time.gmtime(ts)
    stem = (_slugify(title) or "image")[:40]
    w, h = rng.choice(IMAGE_SIZES)
    cdn = rng.choice(["wp.", "cdn.", "media.", "images.", ""]) + domain
    img = f"https://{cdn}/wp-content/uploads/{tm[0]:04d}/{tm[1]:02d}/{stem}-{k + 1}.jpeg?w={w}"
    return [
        f"{indent}  - url: " + _yq(img),
        f"{indent}    width: {w}",
        f"{indent}    height: {h}",
        f"{indent}    isCached: " + ("true" if rng.random() < 0.8 else "false"),
    ]


def _build(rng: random.Random, seed: int, i: int, drafts_fraction: float) -> tuple[str, str]:
    """Article ``i`` using ``rng`` (re-seeded here, so reusing one Random is safe)."""
    rng.seed((seed << 40) | i)
    r = rng.random
    topics = _pick_topics(rng)
    primary = topics[0]
    section = _slugify(primary)
    txt = _Text(rng, topics)
    cjk = r() < 0.01
    pidx = _provider_for(rng, primary, cjk)
    pname, pdomain = PROVIDERS[pidx]
    if cjk:
        title, excerpt = txt.cjk()
    else:
        title, excerpt = txt.title(pidx % 5 < 3), txt.excerpt()
    u = r()
    minute = int(SPAN_MIN * (u if r() < 0.5 else u**0.5))  # half uniform, half skewed recent
    ts = START_TS + minute * 60
    web = _make_url(rng, pidx, ts, _slugify(title), section)
    x = r()
    if x < 0.88:
        original = web
    elif x < 0.95:
        original = web + "?utm_source=rss&utm_medium=feed"
    else:
        original = web.replace("https://www.", "https://", 1)
    draft = r() < drafts_fraction
    quality = int(rng.triangular(0, 100.999, 42))
    heat = -1 if r() < (0.7 if draft else 0.2) else min(100, int(101 * r() ** 2.5))

    lines = [
        "---",
        "category: news",
        "title: " + _yq(title),
        "excerpt: " + _yq(excerpt),
        "publishedDateTime: " + _iso(ts),
        "originalUrl: " + _yq(original),
        "webUrl: " + _yq(web),
        "type: article",
        f"quality: {quality}",
        f"heat: {heat}",
        "published: " + ("false" if draft else "true"),
        "",
        "provider:",
        "  name: " + pname,
        "  domain: " + pdomain,
        "",
        "topics:",
        *("  - " + t for t in topics),
        "",
    ]
    pictured = len(lines)  # the story's own picture goes between its topics and related
    lines += _related_lines(rng, txt, primary, section, cjk, pidx, ts)
    n = _pick(rng, _SEC_LEN, _SEC_CW)
    secured = base64.b64encode(rng.randbytes(n)).decode() + ";"
    secured += base64.b64encode(rng.randbytes(16)).decode()
    lines += ["secured: " + _yq(secured), "---", ""]
    # Drawn last: every other line is what it was before stories had their own pictures.
    if r() < PICTURED_FRACTION:
        lines[pictured:pictured] = ["images:", *_image_entry(rng, pdomain, ts, title, 0, ""), ""]
    return hashlib.sha256(web.encode()).hexdigest()[:16], "\n".join(lines)


def make_article(seed: int, i: int, drafts_fraction: float = 0.3) -> tuple[str, str]:
    """Return ``(16-hex id, file text)`` for article ``i``; depends only on the arguments.

    The id is the first 16 hex digits of sha256(webUrl), as in the store's file names.
    """
    if seed < 0 or i < 0:
        raise ValueError("seed and i must be non-negative")
    return _build(random.Random(), seed, i, drafts_fraction)


# --------------------------------------------------------------------------
# Planted stories
# --------------------------------------------------------------------------

# Articles come in blocks of STORY_BLOCK; a block's first `size` articles are one planted
# story (size 1: none), led by the block's first article (its root). The others are
# realistic articles of their own, made to be what one story's coverage looks like:
#   wire      the root's text under another provider: title paraphrased or kept, excerpt
#             with a dateline, a boilerplate line or one sentence fewer (0-12 h later);
#   copy      a republished copy: its own webUrl, an originalUrl that is the root's page
#             with tracking parameters, an AMP path, http, www. or m. (0-24 h later);
#   follow    a follow-up in its own words whose related items link the root (12-60 h);
#   rewrite   the root's title and excerpt reworded (one word in eight), 0-24 h later.
# Decoys (about a third of the rest of a block) share the root's headline words, not its
# story: a different excerpt, published within a day of it. Some unrelated articles end
# in the same boilerplate line as wire copies. Story sizes are drawn from STORY_SIZES.
STORY_BLOCK = 10
STORY_SIZES = (1, 2, 3, 4, 5, 6)
_SIZE_WEIGHTS = (55, 15, 12, 8, 5, 5)
_KINDS = (("wire", 35), ("copy", 25), ("follow", 25), ("rewrite", 15))
BOILERPLATE = "The company did not immediately respond to a request for comment."
_DATELINES = ["LONDON —", "NEW YORK —", "BRUSSELS —", "TOKYO —", "WASHINGTON —", "PARIS —"]
# fmt: off
_SYNONYMS = {
    "says": "said", "warns": "cautions", "plans": "prepares", "launches": "rolls out",
    "unveils": "reveals", "faces": "confronts", "cuts": "slashes", "raises": "lifts",
    "delays": "postpones", "bans": "prohibits", "backs": "supports", "rejects": "spurns",
    "approves": "clears", "targets": "takes aim at", "boosts": "lifts", "buys": "acquires",
    "sells": "offloads", "new": "fresh", "big": "major", "first": "initial",
    "record": "all-time", "deal": "agreement", "plan": "proposal", "report": "study",
    "rules": "regulations", "talks": "negotiations", "costs": "expenses", "jobs": "roles",
    "crisis": "turmoil", "push": "drive", "fight": "battle", "probe": "investigation",
    "after": "following", "amid": "as", "over": "about", "despite": "in spite of",
    "said": "says", "is": "was", "will": "would", "could": "might", "more": "further",
}
# fmt: on


def planted_story(seed: int, i: int) -> int:
    """The index of the article that leads article ``i``'s planted story (``i`` itself
    when it is in none): the membership a clustering is measured against."""
    block, at = divmod(i, STORY_BLOCK)
    return block * STORY_BLOCK if at < _story_size(seed, block) else i


def _story_size(seed: int, block: int) -> int:
    plan = random.Random((seed << 40) | (block << 1) | 1 | (1 << 39))
    return plan.choices(STORY_SIZES, _SIZE_WEIGHTS)[0]


def make_story_article(seed: int, i: int, drafts_fraction: float = 0.3) -> tuple[str, str]:
    """``make_article``, with stories planted (see above): ``(id, file text)``."""
    if seed < 0 or i < 0:
        raise ValueError("seed and i must be non-negative")
    return _build_planted(random.Random(), seed, i, drafts_fraction)


def _build_planted(
    rng: random.Random, seed: int, i: int, drafts_fraction: float
) -> tuple[str, str]:
    hexid, text = _build(rng, seed, i, drafts_fraction)
    block, at = divmod(i, STORY_BLOCK)
    root = block * STORY_BLOCK
    if at == 0:
        return hexid, text
    size = _story_size(seed, block)
    rng.seed((seed << 40) | i | (1 << 38))  # this article's own draws for its part
    if at >= size and rng.random() > 1 / 3:
        if rng.random() < 0.05:  # an unrelated article ending in a wire boilerplate line
            excerpt = _field(text, "excerpt")
            return hexid, _with(text, excerpt=excerpt + " " + BOILERPLATE)
        return hexid, text
    root_text = _build(random.Random(), seed, root, drafts_fraction)[1]
    root_ts = _ts(_field(root_text, "publishedDateTime"))
    title, excerpt = _field(root_text, "title"), _field(root_text, "excerpt")
    if at >= size:  # a decoy: the root's headline words, its own story
        words = title.split()
        for k in rng.sample(range(len(words)), len(words) // 2):
            words[k] = _SYNONYMS.get(words[k].lower(), words[k])
        when = root_ts + rng.randint(-24 * 60, 24 * 60) * 60
        return hexid, _with(text, title=" ".join(words), publishedDateTime=_iso(when))
    kind = rng.choices([k for k, _ in _KINDS], [w for _, w in _KINDS])[0]
    root_url = _field(root_text, "webUrl")
    if kind == "wire":
        when = root_ts + rng.randint(0, 12 * 60) * 60
        new_title = _reword(rng, title, 0.5) if rng.random() < 0.6 else title
        return hexid, _with(
            text, title=new_title, excerpt=_rewire(rng, excerpt), publishedDateTime=_iso(when)
        )
    if kind == "copy":
        when = root_ts + rng.randint(0, 24 * 60) * 60
        new_title = title if rng.random() < 0.5 else _reword(rng, title, 0.5)
        return hexid, _with(
            text, title=new_title, originalUrl=_tracked(rng, root_url), publishedDateTime=_iso(when)
        )
    if kind == "follow":
        when = root_ts + rng.randint(12 * 60, 60 * 60) * 60
        return hexid, _with_related(
            _with(text, publishedDateTime=_iso(when)), title, _tracked(rng, root_url), root_ts
        )
    when = root_ts + rng.randint(0, 24 * 60) * 60
    return hexid, _with(
        text,
        title=_reword(rng, title, 0.5),
        excerpt=_reword(rng, excerpt, 0.125, drop=True),
        publishedDateTime=_iso(when),
    )


def _field(text: str, key: str) -> str:
    """A top-level scalar of an article's text, unquoted."""
    for line in text.split("\n"):
        if line.startswith(key + ": "):
            value = line[len(key) + 2 :]
            if value.startswith('"'):
                return str(json.loads(value))  # _yq's quoting is JSON's for this text
            return value
    raise KeyError(key)


def _with(text: str, **fields: str) -> str:
    """The text with these top-level fields' values replaced."""
    lines = text.split("\n")
    for n, line in enumerate(lines):
        key = line.split(": ", 1)[0]
        if key in fields:
            value = fields[key]
            lines[n] = f"{key}: " + (value if key == "publishedDateTime" else _yq(value))
    return "\n".join(lines)


def _with_related(text: str, title: str, url: str, ts: int) -> str:
    """The text with one more related item first: the root's page."""
    item = [
        "  - title: " + _yq(title),
        "    publishedDateTime: " + _iso(ts),
        "    webUrl: " + _yq(url),
        "    type: article",
    ]
    lines = text.split("\n")
    if "related:" in lines:
        at = lines.index("related:") + 1
        lines[at:at] = item
    else:
        at = next(n for n, line in enumerate(lines) if line.startswith("secured: "))
        lines[at:at] = ["related:", *item, ""]
    return "\n".join(lines)


def _ts(iso: str) -> int:
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


def _reword(rng: random.Random, text: str, share: float, drop: bool = False) -> str:
    """About `share` of the words reworded: a synonym where there is one, else (`drop`)
    left out."""
    out = []
    for word in text.split(" "):
        if rng.random() >= share:
            out.append(word)
        elif word.lower() in _SYNONYMS:
            out.append(_SYNONYMS[word.lower()])
        elif not drop:
            out.append(word)
    return " ".join(out)


def _rewire(rng: random.Random, excerpt: str) -> str:
    """The wire text as another outlet runs it."""
    x = rng.random()
    if x < 0.35:
        return rng.choice(_DATELINES) + " " + excerpt
    if x < 0.6:
        return excerpt + " " + BOILERPLATE
    sentences = excerpt.split(". ")
    if x < 0.8 and len(sentences) > 1:
        return ". ".join(sentences[:-1]) + "."
    return excerpt


def _tracked(rng: random.Random, url: str) -> str:
    """The same page as another link to it spells it."""
    x = rng.random()
    if x < 0.3:
        return (
            url
            + "?utm_source="
            + rng.choice(["twitter", "rss", "newsletter"])
            + "&utm_medium=social"
        )
    if x < 0.5:
        return url.rstrip("/") + "/amp/"
    if x < 0.65:
        return url.replace("https://", "http://", 1) + "#comments"
    if x < 0.8:
        return url + ("&" if "?" in url else "?") + "fbclid=" + f"{rng.getrandbits(64):x}"
    host = url.split("/")[2]
    bare = host[4:] if host.startswith("www.") else host
    return url.replace(host, rng.choice(["m.", "www."]) + bare, 1)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def _write_range(
    outdir: str,
    seed: int,
    drafts_fraction: float,
    start: int,
    stop: int,
    width: int,
    stories: bool = False,
) -> int:
    """Write files start..stop-1; returns bytes written."""
    rng = random.Random()
    build = _build_planted if stories else _build
    total = 0
    for i in range(start, stop):
        hexid, text = build(rng, seed, i, drafts_fraction)
        data = text.encode("utf-8")
        with open(f"{outdir}/{i:0{width}d}_{hexid}.txt", "wb") as f:
            f.write(data)
        total += len(data)
    return total


def _write_chunk(args: tuple[str, int, float, int, int, int, bool]) -> int:
    """Pool entry point (top level so every start method can pickle it)."""
    return _write_range(*args)


def write_corpus(
    outdir: Path,
    count: int,
    *,
    seed: int = 0,
    drafts_fraction: float = 0.3,
    jobs: int = 1,
    start: int = 0,
    stories: bool = False,
) -> int:
    """Write files ``start..count-1`` into ``outdir`` (created); returns bytes written.

    Names are ``<i zero-padded to max(3, digits of count-1)>_<16 hex>.txt``.  Existing
    same-named files are overwritten.  ``jobs > 1`` splits the work over processes;
    the output is the same for any ``jobs``. ``stories`` plants stories (``planted_story``
    tells each file's).
    """
    if count < 0 or seed < 0 or start < 0 or jobs < 1 or not 0.0 <= drafts_fraction <= 1.0:
        raise ValueError(
            "need count >= 0, seed >= 0, start >= 0, jobs >= 1, 0 <= drafts_fraction <= 1"
        )
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    width = max(3, len(str(max(count - 1, 0))))
    n = count - start
    if n <= 0:
        return 0
    jobs = min(jobs, -(-n // _MIN_FILES_PER_JOB))
    if jobs == 1:
        return _write_range(str(outdir), seed, drafts_fraction, start, count, width, stories)
    step = -(-n // (jobs * 8))  # several chunks per worker evens out the load
    chunks = [
        (str(outdir), seed, drafts_fraction, s, min(s + step, count), width, stories)
        for s in range(start, count, step)
    ]
    with multiprocessing.Pool(jobs) as pool:
        return sum(pool.imap_unordered(_write_chunk, chunks))


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m tests.support.corpus OUTDIR --count N [options]``."""
    ap = argparse.ArgumentParser(
        prog="python -m tests.support.corpus",
        description="Write N synthetic article files (YAML front matter, same schema and "
        "formatting as the real store) into OUTDIR. Same seed -> byte-identical output.",
    )
    ap.add_argument("outdir", type=Path, help="output folder (created if missing)")
    ap.add_argument("--count", "-n", type=int, required=True, help="number of files to write")
    ap.add_argument("--seed", type=int, default=0, help="non-negative integer seed (default 0)")
    ap.add_argument(
        "--drafts-fraction",
        type=float,
        default=0.3,
        help="fraction of files with 'published: false' (default 0.3)",
    )
    ap.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=1,
        help="worker processes (the output is the same for any value; default 1)",
    )
    ap.add_argument("--stories", action="store_true", help="plant stories (see `planted_story`)")
    ap.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    a = ap.parse_args(argv)
    if a.count < 0 or a.seed < 0 or not 0.0 <= a.drafts_fraction <= 1.0 or a.jobs < 1:
        ap.error("need --count >= 0, --seed >= 0, 0 <= --drafts-fraction <= 1, --jobs >= 1")
    t0 = time.perf_counter()
    total = write_corpus(
        a.outdir,
        a.count,
        seed=a.seed,
        drafts_fraction=a.drafts_fraction,
        jobs=a.jobs,
        stories=a.stories,
    )
    dt = time.perf_counter() - t0
    if not a.quiet:
        print(
            f"wrote {a.count} files ({total / 1e6:.1f} MB) to {a.outdir} in {dt:.1f} s",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
