"""Guess the language of a post's text, offline, so nobody has to type "fa" by hand.

Lingua (lingua-language-detector) ships its own n-gram models, so nothing is fetched. The detector is built
once per process, lazily, for the languages the people who use reportkit meet (Kurdish and Pashto are not
in Lingua: such a text gets no guess or a neighbour's, so the field stays editable and a person's value
always wins). Low-accuracy mode keeps the process about 25-30 MB bigger instead of about 345 MB, and builds in
0.2-0.5 s instead of 3 s; for texts of a sentence or more, which posts are, it tells Persian from Arabic as
well. A guess reads the first 200 characters: about 0.5 ms, so a 10,000-row import adds about 5 s at most.
"""

import re
import threading

# BCP-47 tags we guess among; Lingua names them by ISO 639-1, which is the same for these.
LANGUAGES = ("fa", "ar", "he", "en", "ru", "tr", "fr", "de", "es", "ur", "az", "uk")
MIN_LETTERS = 8  # fewer letters than this say too little: no guess
MIN_CONFIDENCE = 0.5  # the best language's share of the confidence; below it, no guess
SAMPLE = 200  # characters read: two sentences tell the language; the time grows with the length (0.5 ms here)

_detector = None
_lock = threading.Lock()
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_NOISE = re.compile(r"https?://\S+|[@#][\w_]+", re.UNICODE)  # addresses, handles, hashtags: not the language


def _build():
    global _detector
    with _lock:
        if _detector is None:
            from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

            languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in LANGUAGES]
            _detector = LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()
    return _detector


def guess_language(text: str | None) -> str:
    """The BCP-47 tag of the text's language ("fa", "ar", …), or "" when the text is too short or unclear."""
    if not text or not isinstance(text, str):
        return ""
    sample = " ".join(_NOISE.sub(" ", text[:5000]).split())[:SAMPLE]
    if len(_LETTER.findall(sample)) < MIN_LETTERS:
        return ""
    values = _build().compute_language_confidence_values(sample)
    if not values or values[0].value < MIN_CONFIDENCE:
        return ""
    return values[0].language.iso_code_639_1.name.lower()
