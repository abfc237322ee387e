"""Dataset readers, generated corpora and the registry, on real shared data and on files written here."""
from __future__ import annotations

import collections
import dataclasses
from pathlib import Path

import pytest

from lstm_viz.data import (
    Corpus,
    DataError,
    LabelledText,
    generated_pos_corpus,
    generated_sentiment_corpus,
    list_datasets,
    load_conllu,
    load_corpus,
    load_imdb,
    load_rt_polarity,
    load_sst2,
    load_text_table,
    read_conllu,
    tokenize,
)
from lstm_viz.data.generated import NEGATIONS, NEGATIVE_WORDS, POSITIVE_WORDS

pytestmark = pytest.mark.timeout(120)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EWT = DATA / "ud" / "UD_English-EWT"
RT = DATA / "sentiment" / "rt-polarity"
SST2 = DATA / "sentiment" / "sst2"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"../shared/data is absent: {path} not found")
    return path


# ---------------------------------------------------------------- CoNLL-U on the real treebank
@pytest.fixture(scope="module")
def ewt() -> Corpus:
    return load_conllu(need(EWT))


def test_ud_ewt_counts_match_the_treebank_statistics(ewt):
    # Sentences and syntactic words from SOURCE.md/stats.xml: multiword tokens and empty nodes are skipped.
    assert [len(ewt.train), len(ewt.dev), len(ewt.test)] == [12544, 2001, 2077]
    words = [sum(len(s.tokens) for s in split) for split in (ewt.train, ewt.dev, ewt.test)]
    assert words == [204577, 25147, 25094]
    assert ewt.labels == ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
                          "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X")
    assert ewt.task == "pos" and all(len(s.tokens) == len(s.tags) for s in ewt.dev)


def test_ud_multiword_tokens_are_replaced_by_their_words(ewt):
    # dev line 158 is the multiword token "29-30 didn't"; its words "did" and "n't" follow it.
    joined = [" ".join(s.tokens) for s in ewt.dev]
    assert not any("didn't" in s.tokens for s in ewt.dev)
    assert any("did n't" in text for text in joined)
    first = read_conllu(EWT / "en_ewt-ud-dev.conllu", limit=3)
    assert first == ewt.dev[:3]


def test_ud_xpos_tagset():
    sentences = read_conllu(need(EWT) / "en_ewt-ud-dev.conllu", tagset="xpos", limit=50)
    tags = {t for s in sentences for t in s.tags}
    assert {"NN", "VBZ", "DT", "IN"} <= tags and "NOUN" not in tags


def test_registry_detects_the_treebank_folder():
    corpus = load_corpus(need(EWT), task="pos", limit=20)
    assert corpus.name == "UD_English-EWT" and len(corpus.train) == len(corpus.dev) == len(corpus.test) == 20


# ---------------------------------------------------------------- CoNLL-U on written files
def conllu_line(i: str, form: str, upos: str = "NOUN", xpos: str = "NN") -> str:
    return "\t".join([i, form, form.lower(), upos, xpos, "_", "0", "root", "_", "_"])


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_conllu_skips_comments_multiword_tokens_and_empty_nodes(tmp_path):
    lines = ["# sent_id = 1", "# text = I don't write.",
             conllu_line("1", "I", "PRON", "PRP"), conllu_line("2-3", "don't", "_", "_"),
             conllu_line("2", "do", "AUX", "VBP"), conllu_line("3", "n't", "PART", "RB"),
             conllu_line("4", "write", "VERB", "VB"), conllu_line("4.1", "write", "VERB", "VB"),
             conllu_line("5", ".", "PUNCT", "."), "",
             "# sent_id = 2", conllu_line("1", "Yes", "INTJ", "UH")]  # no blank line at the end of the file
    path = write(tmp_path / "x.conllu", "\r\n".join(lines))  # CRLF line endings read like LF
    sentences = read_conllu(path)
    assert [s.tokens for s in sentences] == [("I", "do", "n't", "write", "."), ("Yes",)]
    assert sentences[0].tags == ("PRON", "AUX", "PART", "VERB", "PUNCT")
    assert read_conllu(path, tagset="xpos")[0].tags == ("PRP", "VBP", "RB", "VB", ".")
    corpus = load_corpus(path)
    assert corpus.task == "pos" and len(corpus.train) == 2 and corpus.dev == () and corpus.test == ()


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (conllu_line("1", "a") + "\n1 b NOUN\n", r"x\.conllu:2: expected 10 tab-separated"),
        (conllu_line("1", "a") + "\n" + conllu_line("x", "b") + "\n", r"x\.conllu:2: bad word ID 'x'"),
        (conllu_line("1", "a") + "\n" + conllu_line("3", "b") + "\n", r"x\.conllu:2: word ID 3 follows word 1"),
        ("# only\n" + conllu_line("1", "a", upos="_") + "\n", r"x\.conllu:2: no UPOS tag"),
        ("", r"x\.conllu: no sentences found"),
        ("# just a comment\n\n", r"no sentences found"),
    ],
)
def test_conllu_errors_name_file_and_line(tmp_path, body, match):
    path = write(tmp_path / "x.conllu", body)
    with pytest.raises(DataError, match=match):
        read_conllu(path)


def test_conllu_missing_xpos_and_bad_options(tmp_path):
    path = write(tmp_path / "x.conllu", conllu_line("1", "a", xpos="_") + "\n")
    with pytest.raises(DataError, match="use tagset='upos'"):
        read_conllu(path, tagset="xpos")
    with pytest.raises(DataError, match="unknown tagset"):
        read_conllu(path, tagset="ptb")
    with pytest.raises(DataError, match="not found"):
        read_conllu(tmp_path / "missing.conllu")


def test_conllu_non_utf8_bytes_name_line_and_byte_offset(tmp_path):
    good = conllu_line("1", "a") + "\n"
    path = write(tmp_path / "x.conllu", good.encode() + conllu_line("2", "caf\xe9").encode("cp1252") + b"\n")
    offset = len(good.encode()) + len("2\tcaf")
    with pytest.raises(DataError, match=rf"x\.conllu:2: .*byte offset {offset}.*encoding='cp1252'"):
        read_conllu(path)
    assert read_conllu(path, encoding="cp1252")[0].tokens == ("a", "café")


def test_treebank_folder_rules(tmp_path):
    folder = tmp_path / "UD_Test"
    write(folder / "xx-ud-dev.conllu", conllu_line("1", "a") + "\n")
    with pytest.raises(DataError, match="no '\\*-ud-train.conllu'"):
        load_conllu(folder)
    write(folder / "xx-ud-train.conllu", conllu_line("1", "b", "VERB") + "\n")
    corpus = load_conllu(folder)
    assert len(corpus.train) == len(corpus.dev) == 1 and corpus.test == () and corpus.labels == ("NOUN", "VERB")
    write(folder / "yy-ud-train.conllu", conllu_line("1", "c") + "\n")
    with pytest.raises(DataError, match="several train files"):
        load_conllu(folder)


# ---------------------------------------------------------------- sentence polarity
def test_rt_polarity_split_is_stratified_seeded_and_decodes_cp1252():
    corpus = load_rt_polarity(need(RT))
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (9596, 0, 1066)
    assert collections.Counter(e.label for e in corpus.test) == {"negative": 533, "positive": 533}
    assert collections.Counter(e.label for e in corpus.train) == {"negative": 4798, "positive": 4798}
    assert corpus.labels == ("negative", "positive")
    # cp1252 0x97 is an em dash, 0x85 an ellipsis: decoded as such, never as C1 control characters.
    tokens = {t for e in corpus.train + corpus.test for t in e.tokens}
    assert "\u2014" in tokens and not any("\x85" in t or "\x97" in t for t in tokens)
    # The UTF-8 copies hold the same text; same seed, same split.
    assert load_rt_polarity(RT / "utf8") == dataclasses.replace(corpus, source=str(RT / "utf8"))
    other = load_rt_polarity(RT, seed=1)
    assert set(other.test) != set(corpus.test) and set(other.train + other.test) == set(corpus.train + corpus.test)


def test_rt_polarity_limit_encoding_and_missing_file(tmp_path):
    corpus = load_rt_polarity(need(RT), limit=100)
    assert (len(corpus.train), len(corpus.test)) == (180, 20)
    with pytest.raises(DataError, match=r"rt-polarity\.neg:\d+: .*byte offset \d+.*encoding='cp1252'"):
        load_rt_polarity(RT, encoding="utf-8", limit=5)
    write(tmp_path / "rt-polarity.pos", "a fine film .\n")
    with pytest.raises(DataError, match=r"rt-polarity\.neg"):
        load_rt_polarity(tmp_path)
    write(tmp_path / "rt-polarity.neg", "\n\n")
    with pytest.raises(DataError, match="no snippets"):
        load_rt_polarity(tmp_path)


# ---------------------------------------------------------------- SST-2
@pytest.fixture(scope="module")
def sst2() -> Corpus:
    return load_sst2(need(SST2))


def test_sst2_counts_labels_and_trailing_spaces(sst2):
    assert (len(sst2.train), len(sst2.dev), len(sst2.test)) == (67349, 872, 0)
    assert collections.Counter(e.label for e in sst2.train) == {"negative": 29780, "positive": 37569}
    assert collections.Counter(e.label for e in sst2.dev) == {"negative": 428, "positive": 444}
    assert sst2.dev[0] == LabelledText(("it", "'s", "a", "charming", "and", "often", "affecting", "journey", "."),
                                       "positive")
    assert all(e.tokens and "" not in e.tokens for e in sst2.dev)


def test_sst2_registry_and_single_file(sst2):
    assert load_corpus(SST2, limit=10).dev == sst2.dev[:10]
    alone = load_corpus(SST2 / "dev.tsv", task="sentiment")  # an SST-2 file on its own: labels mapped
    assert alone.train == sst2.dev and alone.labels == ("negative", "positive")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("text\tlabel\nfine \t1\n", r"train\.tsv:1: expected the SST-2 header"),
        ("sentence\tlabel\nfine \t1\nbad \t2\n", r"train\.tsv:3: label '2' is not 0"),
        ("sentence\tlabel\nno tab here\n", r"train\.tsv:2: expected '<sentence><TAB><label>'"),
        ("sentence\tlabel\n", r"train\.tsv: no rows"),
        ("sentence\tlabel\n \t1\n", r"train\.tsv:2: empty sentence"),
    ],
)
def test_sst2_errors(tmp_path, body, match):
    write(tmp_path / "train.tsv", body)
    write(tmp_path / "dev.tsv", "sentence\tlabel\ngood \t1\n")
    with pytest.raises(DataError, match=match):
        load_sst2(tmp_path)


# ---------------------------------------------------------------- IMDB (layout written here)
def make_imdb(root: Path) -> Path:
    acl = root / "aclImdb"
    reviews = {
        ("train", "pos"): {"10_9.txt": "Great film!<br /><br />I loved it.", "2_8.txt": "Wonderful cast."},
        ("train", "neg"): {"1_1.txt": "Awful.<br/>Don't watch.", "3_2.txt": "Boring plot."},
        ("test", "pos"): {"0_10.txt": "Superb."},
        ("test", "neg"): {"0_3.txt": "Dull and long."},
    }
    for (split, label), files in reviews.items():
        for name, text in files.items():
            write(acl / split / label / name, text)
    write(acl / "train" / "unsup" / "0_0.txt", "unlabelled")
    return acl


def test_imdb_layout_br_tags_and_limit(tmp_path):
    acl = make_imdb(tmp_path)
    corpus = load_imdb(acl)
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (4, 0, 2)
    texts = {" ".join(e.tokens): e.label for e in corpus.train}
    assert texts["great film ! i loved it ."] == "positive"
    assert texts["awful . do n't watch ."] == "negative"
    assert not any("br" in e.tokens for e in corpus.train)
    limited = load_imdb(tmp_path, limit=1)  # the parent folder of aclImdb works too; lowest ids first
    assert sorted(" ".join(e.tokens) for e in limited.train) == ["awful . do n't watch .", "wonderful cast ."]
    assert load_corpus(tmp_path).train == corpus.train
    (acl / "test" / "neg" / "0_3.txt").unlink()
    with pytest.raises(DataError, match=r"test[/\\]neg: no review files"):
        load_imdb(acl)


# ---------------------------------------------------------------- generic CSV / TSV
def test_csv_defaults_quoting_and_columns(tmp_path):
    path = write(tmp_path / "reviews.csv",
                 'id,sentence,label\n1,"Good, really good",pos\n\n2,"Bad.\nVery ""bad"".",neg\n')
    corpus = load_corpus(path)
    assert [e.tokens for e in corpus.train] == [("good", ",", "really", "good"),
                                                ("bad", ".", "very", '"', "bad", '"', ".")]
    assert corpus.labels == ("neg", "pos") and corpus.dev == () and corpus.test == ()
    mapped = load_text_table(path, label_map={"pos": "positive", "neg": "negative"})
    assert mapped.labels == ("negative", "positive")
    custom = write(tmp_path / "c.tsv", "body\tstars\tlabel\nnice one\t5\tx\nmeh\t1\ty\n")
    corpus = load_text_table(custom, text_column="body", label_column="stars")
    assert [(e.tokens, e.label) for e in corpus.train] == [(("nice", "one"), "5"), (("meh",), "1")]


@pytest.mark.parametrize(
    ("body", "kwargs", "match"),
    [
        ("review_text,y\na,1\n", {}, r"t\.csv:1: no a text column .*\['review_text', 'y'\].*text_column="),
        ("text,label\na,1\n", {"label_column": "y"}, r"no column 'y'"),
        ("text,label\na,pos\nb,neg\nc,meh\n", {"labels": ("pos", "neg")}, r"t\.csv:4: label 'meh' is not one of"),
        ("text,label\na,pos\nb,neg,extra\n", {}, r"t\.csv:3: 3 fields but the header has 2"),
        ("text,label\na,pos\nb,pos\n", {}, r"only one label \('pos'\)"),
        ("", {}, r"t\.csv: empty file"),
        ("text,label\n", {}, r"no data rows"),
        ("text,label\n,pos\n", {}, r"t\.csv:2: empty text"),
        ("text,label\na,2\n", {"label_map": {"0": "negative", "1": "positive"}}, r"t\.csv:2: label '2' is not in"),
    ],
)
def test_csv_errors(tmp_path, body, kwargs, match):
    write(tmp_path / "t.csv", body)
    with pytest.raises(DataError, match=match):
        load_text_table(tmp_path / "t.csv", **kwargs)


def test_csv_split_folder_and_non_utf8(tmp_path):
    write(tmp_path / "train.csv", "text,label\ngood,pos\nbad,neg\n")
    write(tmp_path / "validation.csv", "text,label\nfine,pos\n")
    write(tmp_path / "test.csv", "text,label\npoor,neg\n")
    corpus = load_corpus(tmp_path, task="sentiment")
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (2, 1, 1)
    write(tmp_path / "test.csv", b"text,label\ncaf\xe9 ok,pos\n")
    with pytest.raises(DataError, match=r"test\.csv:2: .*byte offset 14 .*encoding='cp1252'"):
        load_corpus(tmp_path)
    assert load_corpus(tmp_path, encoding="cp1252").test[0].tokens == ("café", "ok")


def test_tokenize():
    assert tokenize("I don't think it’s a well-made -LRB- film -RRB- ... can't, 10.5!") == (
        "i", "do", "n't", "think", "it", "'s", "a", "well-made", "-lrb-", "film", "-rrb-", "...", "ca", "n't", ",",
        "10.5", "!")
    assert tokenize("it 's a charming journey . ") == ("it", "'s", "a", "charming", "journey", ".")
    assert tokenize("   ") == ()


# ---------------------------------------------------------------- generated corpora
def unigram_and_context_accuracy(corpus: Corpus) -> tuple[float, float]:
    """Most frequent tag per word, and per (previous, word, next) window with back-off, fitted on train."""
    tables = [collections.defaultdict(collections.Counter) for _ in range(4)]

    def keys(toks, i):
        p, w, n = toks[i], toks[i + 1], toks[i + 2]
        return [(p, w, n), (p, w), (w, n), (w,)]

    for s in corpus.train:
        toks = ("<s>",) + s.tokens + ("</s>",)
        for i, tag in enumerate(s.tags):
            for table, key in zip(tables, keys(toks, i)):
                table[key][tag] += 1
    uni = ctx = n = 0
    for s in corpus.test:
        toks = ("<s>",) + s.tokens + ("</s>",)
        for i, tag in enumerate(s.tags):
            found = [table[key].most_common(1)[0][0] for table, key in zip(tables, keys(toks, i)) if key in table]
            ctx += bool(found) and found[0] == tag
            uni += (s.tokens[i],) in tables[3] and tables[3][(s.tokens[i],)].most_common(1)[0][0] == tag
            n += 1
    return uni / n, ctx / n


def test_generated_pos_is_deterministic_distinct_and_ambiguous():
    corpus = generated_pos_corpus(seed=3, n_train=1500, n_dev=100, n_test=400)
    assert corpus == generated_pos_corpus(seed=3, n_train=1500, n_dev=100, n_test=400)
    assert corpus.train != generated_pos_corpus(seed=4, n_train=1500).train
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (1500, 100, 400)
    everything = corpus.train + corpus.dev + corpus.test
    assert len({s.tokens for s in everything}) == len(everything)  # no sentence repeats across splits
    upos = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
            "SCONJ", "SYM", "VERB", "X"}
    assert set(corpus.labels) <= upos
    tags = collections.defaultdict(set)
    for s in everything:
        for w, t in zip(s.tokens, s.tags):
            tags[w].add(t)
    assert tags["book"] == {"NOUN", "VERB"} and tags["can"] == {"AUX", "NOUN"}
    assert tags["that"] == {"DET", "PRON", "SCONJ"} and tags["to"] == {"ADP", "PART"}
    assert tags["read"] == {"VERB"} and tags["fast"] == {"ADJ", "ADV"} and tags["like"] == {"ADP", "VERB"}
    # "book" after a determiner is a noun; after "to" or a modal it is a verb.
    for s in everything:
        for prev, w, t in zip(s.tokens, s.tokens[1:], s.tags[1:]):
            if w == "book" and prev in ("the", "a", "this", "that", "every"):
                assert t == "NOUN"
            if w == "book" and prev in ("to", "can", "will", "must", "should", "might"):
                assert t == "VERB"
    unigram, context = unigram_and_context_accuracy(corpus)
    assert unigram < 0.9 and context > 0.96 and context - unigram > 0.08


def sentiment_oracle(tokens: tuple[str, ...]) -> str:
    """Independent rule: the clause after the last 'but' decides; a negation before the polarity word flips it."""
    clause = tokens[len(tokens) - tokens[::-1].index("but"):] if "but" in tokens else tokens
    positive_verbs, negative_verbs = {"loved", "liked", "enjoyed", "admired", "love", "like", "enjoy", "admire"}, {
        "hated", "disliked", "regretted", "hate", "dislike", "regret"}
    for i, w in enumerate(clause):
        if w in POSITIVE_WORDS or w in positive_verbs or w in NEGATIVE_WORDS or w in negative_verbs:
            positive = w in POSITIVE_WORDS or w in positive_verbs
            if any(n in clause[:i] for n in NEGATIONS):
                positive = not positive
            return "positive" if positive else "negative"
    raise AssertionError(f"no polarity word in {tokens}")


def test_generated_sentiment_follows_negation_and_contrast():
    corpus = generated_sentiment_corpus(seed=0, n_train=1000, n_dev=100, n_test=300)
    assert corpus == generated_sentiment_corpus(seed=0, n_train=1000, n_dev=100, n_test=300)
    assert corpus.labels == ("negative", "positive")
    everything = corpus.train + corpus.dev + corpus.test
    assert all(sentiment_oracle(e.tokens) == e.label for e in everything)
    assert 0.4 < sum(e.label == "positive" for e in everything) / len(everything) < 0.6
    # Word counting is not enough: it misses negation and contrast.
    positive_words = set(POSITIVE_WORDS) | {"loved", "liked", "enjoyed", "admired", "love", "like", "enjoy",
                                            "admire"}
    negative_words = set(NEGATIVE_WORDS) | {"hated", "disliked", "regretted", "hate", "dislike", "regret"}
    count = [sum(t in positive_words for t in e.tokens) - sum(t in negative_words for t in e.tokens)
             for e in corpus.test]
    lexicon = sum((c > 0) == (e.label == "positive") for c, e in zip(count, corpus.test)) / len(corpus.test)
    assert lexicon < 0.75
    # Some evidence is far from the end: the polarity word is 10 or more tokens before the last token.
    far = [e for e in everything
           if max(i for i, t in enumerate(e.tokens) if t in positive_words | negative_words) < len(e.tokens) - 10]
    assert len(far) > 0.05 * len(everything)
    assert sum("but" in e.tokens for e in everything) > 0.2 * len(everything)


# ---------------------------------------------------------------- registry
def test_registry_names_and_errors(tmp_path):
    infos = {info.name: info for info in list_datasets(cache_dir=tmp_path)}
    assert set(infos) == {"tutorial", "generated-pos", "generated-sentiment", "ud-english-ewt", "sst2", "imdb",
                          "rt-polarity"}
    assert infos["tutorial"].built_in and not infos["sst2"].built_in and infos["sst2"].downloadable
    assert not infos["imdb"].cached and infos["ud-english-ewt"].task == "pos"
    assert load_corpus("tutorial").train[0].tokens == ("The", "dog", "ate", "the", "apple")
    assert load_corpus("generated-pos", n_train=10, n_dev=2, n_test=2) == generated_pos_corpus(0, 10, 2, 2)
    assert load_corpus("generated-sentiment", task="sentiment", seed=1, n_train=5).task == "sentiment"
    with pytest.raises(DataError, match="Known names: tutorial, generated-pos, .*rt-polarity"):
        load_corpus("no-such-dataset")
    with pytest.raises(DataError, match="is a 'pos' dataset, but task='sentiment'"):
        load_corpus("generated-pos", task="sentiment")
    with pytest.raises(DataError, match=r"not downloaded yet.*download_dataset\('imdb'\)"):
        load_corpus("imdb", cache_dir=tmp_path)
    with pytest.raises(DataError, match="unknown file type"):
        load_corpus(write(tmp_path / "notes.txt", "hello"))
    with pytest.raises(DataError, match="cannot tell the dataset format"):
        load_corpus(tmp_path)


def test_registry_detects_sentiment_folders():
    assert load_corpus(need(RT), limit=10).name == "rt-polarity"
    assert load_corpus(SST2, limit=5).name == "sst2"
