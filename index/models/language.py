"""Which questions the English reader can read: a language identifier over the question's text.

py3langid's model (it ships inside its wheel) is limited to widely written languages, so an
English question naming a foreign place is not taken for a rare language it resembles
("When did Beyoncé rise to fame?" is Nigerian Pidgin to the full model). An English question
word first counts as English whatever the model says: names alone can tip a short
question ("When did Nasser die?" reads as German).
"""

from __future__ import annotations

from functools import lru_cache

# Languages the identifier chooses among: the most written ones, XQuAD's twelve among them.
LANGUAGES = (
    "en de fr es it pt nl sv da no fi pl cs sk hu ro bg ru uk el tr ar fa he hi bn ur th vi id ms zh ja ko ta te"
).split()
# Words that open English questions and open no question in the other languages above
# ("was", German for "what", is left out).
_ENGLISH_OPENERS = frozenset(
    "what when where who whom whose why how which did does do is are were can could will would should has have had".split()
)


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(LANGUAGES)
    return identifier


def is_english(text: str) -> bool:
    """Whether text (a question) is written in English."""
    words = text.split()
    if words and words[0].lower().strip("¿¡\"'(") in _ENGLISH_OPENERS:
        return True
    return _identifier().classify(text)[0] == "en"
