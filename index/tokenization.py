"""Words for keyword matching: lower-cased, stop words dropped, Snowball-stemmed.

One tokenizer serves the keyword index, the query and the choice of sentence to mark,
so they always agree on what a word is. A question also drops its question words.
The names a question gives are its capitalised words, matched unstemmed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Sequence

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

_WORD = re.compile(r"(?u)\b\w\w+\b")
_STOPWORDS = frozenset(STOPWORDS_EN)
# Words that make a sentence a question but are not what it asks about: question words
# and the auxiliaries that go with them ("when did ...", "how does ..."). Articles rarely
# contain the question words, and a small corpus may lack the auxiliaries too, so BM25
# would rate them rare and informative; in a question they only add noise to the keyword
# score and to its normalisation.
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how do does did has have had can could would should were".split()
)
_QUESTION_STOPWORDS = _STOPWORDS | _QUESTION_WORDS  # built once, not for every question


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def _content_words(text: str, dropped: frozenset[str]) -> list[str]:
    return _stemmer().stemWords([w for w in _WORD.findall(text.lower()) if w not in dropped])


def tokenize(text: str) -> list[str]:
    """The stemmed content words of text, in order."""
    return _content_words(text, _STOPWORDS)


def question_tokens(question: str) -> list[str]:
    """The stemmed content words of a question: `tokenize` without the question words."""
    return _content_words(question, _QUESTION_STOPWORDS)


# Words written with a capital that name no one: days and months (an article of that day may
# say "yesterday"), the titles written before a name ("Mr Obama" is "Obama" in one report
# and "President Obama" in another), and a question's stop words and question words.
_NOT_NAMES = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december mr mrs ms miss dr prof sir dame president prime minister "
    "king queen pope senator governor mayor".split()
) | _QUESTION_STOPWORDS


def question_names(question: str) -> list[str]:
    """The names a question gives, as written, each once: its content words written with a capital, after its first word.

    "Who is the prime minister of Japan?" names Japan. The first word is left out because a
    capital there says nothing; a question typed all in lower case names nothing.
    """
    return list(dict.fromkeys(w for w in _WORD.findall(question)[1:] if w[0].isupper() and w.lower() not in _NOT_NAMES))


def names_held(text: str, names: Sequence[str]) -> set[str]:
    """Those of the names that text holds as the start of a word, in any case and accents ("Japan" in
    "Japanese", "Erdogan" in "Erdoğan"); a name ending in s also as its singular ("DVDs" in "DVD")."""
    lowered = text.lower()
    prefixes = {name: _name_prefix(name) for name in names}
    held = {name for name, prefix in prefixes.items() if _starts_a_word(lowered, prefix)}
    if len(held) < len(prefixes) and _ACCENTED.search(lowered):
        # Accents are folded only when a name is missing and the text has accented letters:
        # folding 30 Wikipedia-length articles takes 10 ms, finding names 4.
        folded = _without_accents(lowered)
        held |= {name for name, prefix in prefixes.items() if _starts_a_word(folded, prefix)}
    return held


_ACCENTED = re.compile("[\u00c0-\u024f]")  # Latin letters with accents (curly quotes and dashes are not)
_ACCENTS = re.compile("[\u0300-\u036f]")  # what NFKD splits off them: "ğ" is "g" and a breve


def _without_accents(text: str) -> str:
    return _ACCENTS.sub("", unicodedata.normalize("NFKD", text))


def _name_prefix(name: str) -> str:
    prefix = _without_accents(name.lower())
    return prefix[:-1] if len(prefix) > 3 and prefix.endswith("s") else prefix


def _starts_a_word(text: str, prefix: str) -> bool:
    # str.find, not a case-blind regex: a question reads the whole text of each candidate's
    # article, and over 30 Wikipedia-length articles (1 MB) a regex took 16 ms, this 4 ms
    at = text.find(prefix)
    while at > 0 and (text[at - 1].isalnum() or text[at - 1] == "_"):
        at = text.find(prefix, at + 1)
    return at != -1
