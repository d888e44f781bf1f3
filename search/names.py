"""Author name keys: "Smith J", "smith js" and "John Smith" find the same people.

PubMed users type authors as surname and initials (``smith j``, ``smith js``,
``author:"Smith J"``) and records give names either in full ("John S Smith") or
with initials only ("J Smith").  Each author is indexed, in the ``author_keys``
field, under a few keys made from the surname and the given names:

- ``smith j`` and ``smith js``: surname and first initial, surname and all initials
  (every author with given names);
- ``smith, john``: surname and first given name, when it is written out;
- ``smith, j.``: surname and first initial, when the record gives initials only.

A typed name is turned into keys the same way (:func:`query_keys`): ``smith js``
looks for ``smith js``; ``John Smith`` for ``smith, john`` and ``smith, j.``, so a
full name finds its initials-only records but not Jane Smith.  Surnames are folded
like every indexed word (case, accents: "Müller" is ``muller``), hyphens and
apostrophes separate words ("García-López" is ``garcia lopez``), and a surname's
leading particles ("van der", "de") are optional: "van der Berg J" is also under
``berg j``.
"""

from __future__ import annotations

from typing import Iterator

from whoosh.analysis import Token, Tokenizer

from search.analysis import name_analyzer

#: Lower-case words that begin a surname ("van der Berg", "de Carvalho") rather than end
#: the given names; some records put them after the given names ("Mari van" + "Reenen").
PARTICLES = frozenset({"van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "das",
                       "du", "la", "le", "ter", "ten", "zu", "af", "al", "el", "bin", "ibn"})
#: Typed initials have at most this many letters ("js", "jsm").
MAX_INITIALS = 3
#: A typed name of more words than this is not looked up as a name.
MAX_NAME_WORDS = 5


def author_keys(last_name: str, first_name: str) -> list[str]:
    """The keys one author is indexed under (see the module's description), each once."""
    given, surname = _split_particles(_given_names(first_name), _words(last_name))
    if not surname or not given:
        return []
    initials = "".join(word[0] for word in given)
    keys = []
    for name in _surnames(surname):
        keys += [f"{name} {initials[0]}", f"{name} {initials}"]
        keys.append(f"{name}, {given[0]}" if len(given[0]) > 1 else f"{name}, {initials[0]}.")
    return list(dict.fromkeys(keys))


def query_keys(text: str) -> list[str]:
    """The keys a typed name can mean: surname and initials in either order ("smith js",
    "JS Smith"), and a full name split at any word ("John S Smith", "Smith John"); a
    given name cannot be a word that can only be initials ("js").
    Empty when ``text`` is a single word or too long to be a name."""
    words = _joined_initials(_words(text))
    if not 2 <= len(words) <= MAX_NAME_WORDS or not all(w.isalpha() for w in words):
        return []
    keys = []
    if len(words[-1]) <= MAX_INITIALS:
        keys += [f"{name} {words[-1]}" for name in _surnames(words[:-1])]
    if len(words[0]) <= MAX_INITIALS:
        keys += [f"{name} {words[0]}" for name in _surnames(words[1:])]
    for cut in range(1, len(words)):
        for given, surname in ((words[:cut], words[cut:]), (words[cut:], words[:cut])):
            if len(given[0]) > 1 and not _initials_only(given[0]):
                keys += [f"{name}, {given[0]}" for name in _surnames(surname)]
                keys += [f"{name}, {given[0][0]}." for name in _surnames(surname)]
    return list(dict.fromkeys(keys))


class NameKeyTokenizer(Tokenizer):
    """The ``author_keys`` field's tokenizer: a document's value is its keys, one a line
    (:func:`author_keys`); a query's is a typed name, turned into keys (:func:`query_keys`)."""

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "", **kwargs) -> Iterator[Token]:
        keys = query_keys(value) if mode == "query" else [k for k in value.split("\n") if k]
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for position, key in enumerate(keys):
            token.text = key
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = key
            if positions:
                token.pos = start_pos + position
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(key)
            yield token


_ANALYZER = name_analyzer()


def _words(text: str) -> list[str]:
    """Folded words of a name, as the authors field indexes them ("García-López" gives
    "garcia", "lopez"); dots separate ("J.S." gives "j", "s")."""
    return [token.text for token in _ANALYZER(text.replace(".", " "))]


def _given_names(first_name: str) -> list[str]:
    """Folded given names; initials written together ("JS", "J.S.") become one word each."""
    words = []
    for word in first_name.replace(".", " ").split():
        if word.isalpha() and word.isupper() and len(word) <= MAX_INITIALS:
            words += _words(" ".join(word))
        else:
            words += _words(word)
    return words


def _joined_initials(words: list[str]) -> list[str]:
    """Typed initials as one word: "smith j s" is "smith js", "j s smith" is "js smith"."""
    def join(run: list[str]) -> list[str]:
        return ["".join(run)] if len(run) > 1 and all(len(w) == 1 for w in run) else run
    head = 0
    while head < len(words) and len(words[head]) == 1:
        head += 1
    tail = len(words)
    while tail > head and len(words[tail - 1]) == 1:
        tail -= 1
    return join(words[:head]) + words[head:tail] + join(words[tail:])


def _initials_only(word: str) -> bool:
    """Whether a typed word can only be initials: short and without a vowel ("js", "hp"),
    where "wei" or "al" may be a given name."""
    return len(word) <= MAX_INITIALS and not any(vowel in word for vowel in "aeiouy")


def _split_particles(given: list[str], surname: list[str]) -> tuple[list[str], list[str]]:
    """Particles at the end of the given names belong to the surname ("Mari van" "Reenen")."""
    while given and given[-1] in PARTICLES and len(given) > 1:
        surname = [given.pop()] + surname
    return given, surname


def _surnames(words: list[str]) -> list[str]:
    """A surname as written, and without its leading particles ("van der berg", "berg")."""
    core = list(words)
    while len(core) > 1 and core[0] in PARTICLES:
        core.pop(0)
    return list(dict.fromkeys([" ".join(words), " ".join(core)])) if words else []
