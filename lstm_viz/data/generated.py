"""Built-in generated corpora: seeded, deterministic, offline; written for this project.

Both grammars are small enough to learn in seconds, but built so that the *context* decides:
- pos: many words take two or three tags ("book" NOUN after a determiner, VERB after "to", a pronoun
  or a modal; "that" DET before a noun, PRON as an object or relative, SCONJ after "say/think/know";
  "to" PART before a verb, ADP before a noun phrase; "can" AUX or NOUN; "like" VERB or ADP;
  "fast" ADJ or ADV; "clean" ADJ or VERB; "runs" VERB or NOUN). Tags are UD UPOS names.
  Measured here (seed 0, default sizes): the unigram baseline (most frequent tag per word) scores about
  0.87 on test; a 1-layer BiLSTM (64 units, 6 epochs, about 10 s on one CPU thread) about 0.995.
- sentiment: the label follows from the clause after the last "but" (or the only clause), with
  "not"/"n't" flipping the polarity word in it; neutral prefixes and long neutral tails put the
  evidence far from the end of the sentence. Counting positive and negative words scores about 0.6;
  a 1-layer LSTM (64 units, last state) reaches 1.0 on test within 4 epochs.
Every sentence is distinct across train, dev and test, so scores on dev/test measure generalisation.
"""
from __future__ import annotations

import random
from collections.abc import Callable

from .corpus import Corpus, LabelledText, TaggedSentence

Tagged = list[tuple[str, str]]  # (word, UPOS) pairs of a phrase

# ---------------------------------------------------------------- part-of-speech grammar
_DET_SG = ("the", "a", "this", "that", "every")
_DET_PL = ("the", "some", "these", "those")
_DEMONSTRATIVES = ("that", "that", "this", "these", "those")  # also pronouns: "she likes that ."
_NUM = ("two", "three")
_ADV = ("quickly", "slowly", "often", "today", "well")
_ADP = ("in", "on", "with", "near", "to", "like", "before", "after", "since")
_SUBORDINATORS = ("before", "after", "since", "because")  # SCONJ before a clause ("after she walks")
_PLAIN_NOUNS = (("dog", "dogs"), ("man", "men"), ("child", "children"), ("can", "cans"), ("saw", "saws"))
# Noun-verbs: (singular noun = verb base, plural noun = verb 3rd person singular, verb past).
_NOUN_VERBS = (("book", "books", "booked"), ("run", "runs", "ran"), ("walk", "walks", "walked"),
               ("watch", "watches", "watched"), ("play", "plays", "played"), ("park", "parks", "parked"),
               ("call", "calls", "called"), ("cook", "cooks", "cooked"), ("drink", "drinks", "drank"),
               ("visit", "visits", "visited"), ("plan", "plans", "planned"), ("dance", "dances", "danced"),
               ("answer", "answers", "answered"), ("light", "lights", "lit"))
# Adjective-verbs: the adjective is the verb's base form ("a clean room" / "they clean the room").
_ADJ_VERBS = (("clean", "cleans", "cleaned"), ("open", "opens", "opened"), ("empty", "empties", "emptied"),
              ("warm", "warms", "warmed"), ("dry", "dries", "dried"), ("free", "frees", "freed"))
_PLAIN_ADJ = ("big", "small", "old", "happy", "fast")
_VERBS = (("see", "sees", "saw"), ("like", "likes", "liked"), ("find", "finds", "found"),
          ("read", "reads", "read"), ("love", "loves", "loved"))
_INTRANSITIVE = (("sleep", "sleeps", "slept"), ("wait", "waits", "waited"), ("run", "runs", "ran"),
                 ("walk", "walks", "walked"), ("play", "plays", "played"), ("dance", "dances", "danced"))
_SAY = (("say", "says", "said"), ("think", "thinks", "thought"), ("know", "knows", "knew"))
_WANT = (("want", "wants", "wanted"), ("need", "needs", "needed"), ("like", "likes", "liked"))
_MODAL = ("can", "will", "must", "should", "might")
_DO = {"sg3": "does", "pl": "do"}
_SUBJ_PRON = {"sg3": ("he", "she", "it"), "pl": ("i", "you", "we", "they")}  # "pl" = takes the base form
_OBJ_PRON = ("me", "you", "us", "them", "him", "her", "it")


def _noun_phrase(rng: random.Random, number: str, depth: int) -> Tagged:
    """DET|NUM (ADJ){0,2} NOUN, sometimes followed by a PP or a relative clause with "that"."""
    singular, plural = rng.choice(_NOUN_VERBS)[:2] if rng.random() < 0.6 else rng.choice(_PLAIN_NOUNS)
    if number == "sg3":
        phrase = [(rng.choice(_DET_SG), "DET")]
    elif rng.random() < 0.25:
        phrase = [(rng.choice(_NUM), "NUM")]
    else:
        phrase = [(rng.choice(_DET_PL), "DET")]
    phrase += [(_adjective(rng), "ADJ") for _ in range(rng.choice((0, 0, 1, 1, 2)))]
    phrase.append((singular if number == "sg3" else plural, "NOUN"))
    if phrase[0][0] == "a" and phrase[1][0][0] in "aeiou":
        phrase[0] = ("an", "DET")
    if depth < 2:
        r = rng.random()
        if r < 0.15:
            phrase += _prep_phrase(rng, depth + 1)
        elif r < 0.25:  # relative clause: "the book that she reads"
            sub_number = rng.choice(("sg3", "pl"))
            phrase += [("that", "PRON")] + _subject(rng, sub_number, depth + 1)
            phrase.append((_verb_form(_transitive(rng), sub_number, rng), "VERB"))
    return phrase


def _adjective(rng: random.Random) -> str:
    return rng.choice(_ADJ_VERBS)[0] if rng.random() < 0.6 else rng.choice(_PLAIN_ADJ)


def _transitive(rng: random.Random) -> tuple[str, str, str]:
    """Verb forms, mostly from the words that are also nouns or adjectives."""
    r = rng.random()
    return rng.choice(_NOUN_VERBS) if r < 0.55 else rng.choice(_ADJ_VERBS) if r < 0.85 else rng.choice(_VERBS)


def _prep_phrase(rng: random.Random, depth: int) -> Tagged:
    return [(rng.choice(_ADP), "ADP")] + _object(rng, depth)


def _subject(rng: random.Random, number: str, depth: int) -> Tagged:
    if rng.random() < 0.35:
        return [(rng.choice(_SUBJ_PRON[number]), "PRON")]
    return _noun_phrase(rng, number, depth)


def _object(rng: random.Random, depth: int) -> Tagged:
    if rng.random() < 0.15:
        return [(rng.choice(_OBJ_PRON), "PRON")]
    return _noun_phrase(rng, rng.choice(("sg3", "pl")), depth)


def _verb_form(forms: tuple[str, str, str], number: str, rng: random.Random) -> str:
    """Present tense agreeing with the subject, or past tense (one time in six)."""
    if rng.random() < 1 / 6:
        return forms[2]
    return forms[1] if number == "sg3" else forms[0]


def _clause(rng: random.Random, depth: int = 0) -> Tagged:
    number = rng.choice(("sg3", "pl"))
    words = _subject(rng, number, depth)
    kind = rng.choices(
        ("transitive", "intransitive", "modal", "want", "say", "that", "negated"),
        weights=(30, 12, 16, 12, 8 if depth == 0 else 0, 6, 10),
    )[0]
    if kind == "transitive":
        words += [(_verb_form(_transitive(rng), number, rng), "VERB")] + _object(rng, depth)
    elif kind == "intransitive":
        words.append((_verb_form(rng.choice(_INTRANSITIVE), number, rng), "VERB"))
        if rng.random() < 0.5:  # "fast" is also an adjective
            words.append(("fast" if rng.random() < 0.5 else rng.choice(_ADV), "ADV"))
    elif kind == "modal":
        words += [(rng.choice(_MODAL), "AUX"), (_transitive(rng)[0], "VERB")] + _object(rng, depth)
    elif kind == "want":  # "wants to book a room": "to" is the infinitive particle
        words += [(_verb_form(rng.choice(_WANT), number, rng), "VERB"), ("to", "PART"),
                  (_transitive(rng)[0], "VERB")] + _object(rng, depth)
    elif kind == "say":  # "thinks that the dog runs": complementiser
        words += [(_verb_form(rng.choice(_SAY), number, rng), "VERB"), ("that", "SCONJ")]
        words += _clause(rng, depth + 1)
    elif kind == "that":  # "likes that": demonstrative pronoun as the object
        words += [(_verb_form(rng.choice(_VERBS), number, rng), "VERB"), (rng.choice(_DEMONSTRATIVES), "PRON")]
    else:  # "does not watch the game"
        words += [(_DO[number] if rng.random() < 0.7 else "did", "AUX"), ("not", "PART"),
                  (_transitive(rng)[0], "VERB")] + _object(rng, depth)
    if kind not in ("say", "that") and rng.random() < 0.3:
        r = rng.random()
        if r < 0.5:
            words += _prep_phrase(rng, depth + 1)
        elif r < 0.7:
            words.append(("fast" if rng.random() < 0.5 else rng.choice(_ADV), "ADV"))
        elif depth == 0:  # "... before the dog runs": a subordinate clause
            words += [(rng.choice(_SUBORDINATORS), "SCONJ")] + _clause(rng, depth + 1)
    return words


def _pos_sentence(rng: random.Random) -> TaggedSentence:
    words = _clause(rng)
    if rng.random() < 0.2:
        if rng.random() < 0.5:
            words.append((",", "PUNCT"))
        words += [(rng.choice(("and", "but", "or")), "CCONJ")] + _clause(rng, 1)
    words.append((rng.choices((".", "!", "?"), weights=(8, 1, 1))[0], "PUNCT"))
    return TaggedSentence(tuple(w for w, _ in words), tuple(t for _, t in words))


# ---------------------------------------------------------------- sentiment grammar
POSITIVE_WORDS = ("good", "great", "wonderful", "excellent", "brilliant", "enjoyable", "beautiful",
                  "funny", "charming", "moving", "clever", "delightful")
NEGATIVE_WORDS = ("bad", "terrible", "awful", "boring", "dull", "weak", "poor", "painful", "clumsy",
                  "tedious", "bland", "disappointing")
NEGATIONS = ("not", "n't")
_POSITIVE_VERBS = ("loved", "liked", "enjoyed", "admired")  # "i loved it"; negated: "i did not enjoy it"
_NEGATIVE_VERBS = ("hated", "disliked", "regretted")
_BASE = {"loved": "love", "liked": "like", "enjoyed": "enjoy", "admired": "admire", "hated": "hate",
         "disliked": "dislike", "regretted": "regret"}
_TOPICS = ("the movie", "the film", "the plot", "the acting", "the story", "the script", "the music",
           "the ending", "the cast", "the dialogue", "this film", "the soundtrack", "the direction")
_INTENSIFIERS = ("very", "really", "quite", "truly", "rather", "so")
_NEUTRAL_PREFIXES = ("i saw this film last week", "we watched it on a rainy sunday",
                     "my sister picked it for movie night", "it came out in the summer",
                     "the director made it after his first film", "i went to the late show with a friend")
# Neutral tail pieces: joined after the evaluation so that the evidence is far from the end.
_NEUTRAL_TAILS = ("and i watched it with my brother", "on a long train ride home", "after work on friday",
                  "in the small cinema near the station", "with a bag of popcorn", "which runs for two hours",
                  "and the theatre was half empty", "as my friend had suggested", "in the original language",
                  "during the holidays", "while it rained outside", "and then we went home")


def _evaluation(rng: random.Random, positive: bool) -> list[str]:
    """One clause whose polarity is `positive`, built from an (optionally negated) polarity word."""
    negated = rng.random() < 0.35
    word_is_positive = positive != negated  # a negation flips the polarity word's meaning
    if rng.random() < 0.75:
        words = rng.choice(_TOPICS).split() + [rng.choice(("is", "was"))]
        if negated:
            words.append(rng.choice(NEGATIONS))
        if rng.random() < 0.4:
            words.append(rng.choice(_INTENSIFIERS))
        words.append(rng.choice(POSITIVE_WORDS if word_is_positive else NEGATIVE_WORDS))
    else:
        verb = rng.choice(_POSITIVE_VERBS if word_is_positive else _NEGATIVE_VERBS)
        words = ["i", "did", rng.choice(NEGATIONS), _BASE[verb]] if negated else ["i", verb]
        words += rng.choice((["it"], rng.choice(_TOPICS).split()))
    return words


def _sentiment_sentence(rng: random.Random) -> LabelledText:
    positive = rng.random() < 0.5
    words: list[str] = []
    if rng.random() < 0.3:
        words += rng.choice(_NEUTRAL_PREFIXES).split() + [rng.choice((",", ";"))]
    if rng.random() < 0.4:  # contrast: the clause after "but" decides; the first one usually disagrees
        first_positive = (not positive) if rng.random() < 0.8 else positive
        words += _evaluation(rng, first_positive) + [",", "but"] + _evaluation(rng, positive)
    else:
        words += _evaluation(rng, positive)
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        words += rng.choice(_NEUTRAL_TAILS).split()
    words.append(".")
    return LabelledText(tuple(words), "positive" if positive else "negative")


# ---------------------------------------------------------------- corpora
def _distinct(make: Callable[[random.Random], object], seed: int, sizes: tuple[int, int, int]) -> list[tuple]:
    """Draw train, dev and test in that order from one seeded stream, skipping repeated sentences."""
    if any(n < 0 for n in sizes) or sizes[0] < 1:
        raise ValueError(f"sizes must be non-negative and n_train >= 1, got {sizes}")
    rng = random.Random(seed)
    seen: set[tuple[str, ...]] = set()
    splits: list[tuple] = []
    for n in sizes:
        split = []
        attempts = 0
        while len(split) < n:
            attempts += 1
            if attempts > 50 * n + 1000:
                raise ValueError(f"cannot draw {n} distinct sentences from the grammar; ask for fewer")
            example = make(rng)
            if example.tokens not in seen:
                seen.add(example.tokens)
                split.append(example)
        splits.append(tuple(split))
    return splits


def generated_pos_corpus(seed: int = 0, n_train: int = 2000, n_dev: int = 300, n_test: int = 300) -> Corpus:
    """Synthetic English sentences with UD UPOS tags and context-dependent ambiguous words."""
    train, dev, test = _distinct(_pos_sentence, seed, (n_train, n_dev, n_test))
    labels = sorted({t for split in (train, dev, test) for s in split for t in s.tags})
    return Corpus(name="generated-pos", task="pos", train=train, dev=dev, test=test, labels=tuple(labels),
                  source="built-in", notes={"generator": "lstm_viz.data.generated", "seed": seed})


def generated_sentiment_corpus(
    seed: int = 0, n_train: int = 4000, n_dev: int = 500, n_test: int = 500
) -> Corpus:
    """Synthetic movie-review sentences labelled negative/positive, with negation, contrast and tails."""
    train, dev, test = _distinct(_sentiment_sentence, seed, (n_train, n_dev, n_test))
    return Corpus(name="generated-sentiment", task="sentiment", train=train, dev=dev, test=test,
                  labels=("negative", "positive"), source="built-in",
                  notes={"generator": "lstm_viz.data.generated", "seed": seed})
