"""Functional queries ("something to sit on") -> the ScanNet200 classes that serve that function.

Each affordance has phrasings (matched against the query by MiniLM similarity), a keyword pattern
(matched exactly, for short queries like "sit" or "where can I sleep") and its classes. The table is
small and hand-written on purpose: it is the knowledge CLIP-style matching lacks, and easy to extend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tracklift.classify.text import TextEmbedder, default_text_embedder


@dataclass(frozen=True)
class Affordance:
    name: str
    phrases: tuple[str, ...]
    pattern: str  # regular expression on the lower-case query
    classes: tuple[str, ...]


AFFORDANCES: tuple[Affordance, ...] = (
    Affordance(
        "sit",
        ("something to sit on", "a place to sit", "a seat"),
        r"\bsit(ting)?\b|\bseat(ing)?\b",
        (
            "chair",
            "couch",
            "armchair",
            "office chair",
            "sofa chair",
            "stool",
            "bench",
            "ottoman",
            "seat",
            "folded chair",
        ),
    ),
    Affordance(
        "sleep",
        ("a place to sleep", "something to lie down on", "somewhere to rest"),
        r"\bsleep|\blie down\b|\bnap\b",
        ("bed", "couch", "mattress"),
    ),
    Affordance(
        "put",
        ("a surface to put things on", "somewhere to place a cup", "a place to eat"),
        r"\bput\b|\bplace (a|my|the)\b|\beat\b",
        ("table", "desk", "coffee table", "end table", "dining table", "nightstand", "counter", "kitchen counter"),
    ),
    Affordance(
        "store",
        ("somewhere to store things", "a place to keep clothes", "storage furniture"),
        r"\bstor(e|age)\b|\bkeep (my |the )?(things|stuff|clothes)\b",
        (
            "cabinet",
            "kitchen cabinet",
            "file cabinet",
            "dresser",
            "wardrobe",
            "closet",
            "shelf",
            "bookshelf",
            "storage bin",
            "storage container",
            "box",
            "basket",
            "crate",
        ),
    ),
    Affordance(
        "wash",
        ("something to wash my hands in", "a place to wash", "somewhere to bathe"),
        r"\bwash|\bbath|\bshower\b|\bclean (my|your) hands\b",
        ("sink", "bathtub", "shower", "washing machine"),
    ),
    Affordance(
        "cook",
        ("something to cook with", "something to heat food", "a kitchen appliance"),
        r"\bcook|\bheat (up )?food\b|\bbake\b",
        ("stove", "oven", "microwave", "toaster", "toaster oven", "coffee maker", "coffee kettle"),
    ),
    Affordance(
        "cold",
        ("something to keep food cold", "where to get a cold drink"),
        r"\bcold\b|\bchill\b|\bfreez",
        ("refrigerator", "mini fridge"),
    ),
    Affordance(
        "trash",
        ("something to throw trash in", "where to throw away garbage"),
        r"\btrash\b|\bgarbage\b|\bthrow (it |this )?away\b|\brubbish\b",
        ("trash can", "trash bin", "recycling bin", "bin"),
    ),
    Affordance(
        "watch",
        ("something to watch a movie on", "a screen to watch tv"),
        r"\bwatch\b|\bmovie\b|\bscreen\b",
        ("tv", "monitor", "projector screen"),
    ),
    Affordance(
        "light",
        ("something that gives light", "a light source to read by"),
        r"\blight\b|\billuminat|\bbright",
        ("lamp", "light", "ceiling light", "candle"),
    ),
    Affordance(
        "hang",
        ("somewhere to hang a coat", "a place to hang clothes"),
        r"\bhang\b",
        ("coat rack", "closet rod", "wardrobe", "closet"),
    ),
    Affordance(
        "write",
        ("something to write on", "a surface to draw on"),
        r"\bwrite\b|\bdraw\b",
        ("whiteboard", "blackboard", "desk", "paper"),
    ),
    Affordance(
        "music",
        ("something to play music with", "a musical instrument"),
        r"\bmusic|\binstrument\b",
        ("piano", "guitar", "keyboard piano", "speaker"),
    ),
    Affordance(
        "leave",
        ("a way out of the room", "how to leave the room"),
        r"\bleave\b|\bexit\b|\bway out\b|\benter\b",
        ("door", "closet door"),
    ),
    Affordance(
        "look",
        ("something to look at myself", "a way to see outside"),
        r"\bmirror\b|\boutside\b|\breflection\b",
        ("mirror", "window"),
    ),
    Affordance(
        "drink",
        ("something to drink from", "where to get water"),
        r"\bdrink|\bwater\b",
        ("cup", "bottle", "water bottle", "water cooler", "water pitcher"),
    ),
    Affordance(
        "carry",
        ("something to carry things in", "a bag for travel"),
        r"\bcarry\b|\btravel\b|\bpack\b",
        ("bag", "backpack", "suitcase", "purse", "luggage"),
    ),
    Affordance(
        "time",
        ("something that tells the time",),
        r"\btime\b|\bclock\b",
        ("clock", "alarm clock"),
    ),
    Affordance(
        "work",
        ("something to work at", "a computer to work on"),
        r"\bwork\b|\bcomputer\b|\btype\b",
        ("desk", "office chair", "computer tower", "monitor", "laptop", "keyboard"),
    ),
)

# MiniLM similarity between a query and an affordance phrasing above which the query asks for that function.
PHRASE_THRESHOLD = 0.6


def match_affordances(
    query: str, embedder: TextEmbedder | None = None, affordances: tuple[Affordance, ...] = AFFORDANCES
) -> list[tuple[Affordance, float]]:
    """Affordances a query asks for, with strength in [0, 1] (1 for a keyword hit), strongest first."""
    text = query.lower()
    embedder = embedder or default_text_embedder()
    phrases = [p for a in affordances for p in a.phrases]
    owner = np.repeat(np.arange(len(affordances)), [len(a.phrases) for a in affordances])
    sims = embedder.embed(phrases) @ embedder.embed([text])[0]
    best = np.zeros(len(affordances))
    np.maximum.at(best, owner, sims)
    out = []
    for a, sim in zip(affordances, best):
        strength = 1.0 if re.search(a.pattern, text) else float(sim)
        if strength >= PHRASE_THRESHOLD:
            out.append((a, min(strength, 1.0)))
    return sorted(out, key=lambda t: -t[1])
