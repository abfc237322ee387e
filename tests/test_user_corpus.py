"""The user's own corpus files: every format read, every bad file refused with a message naming the problem."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm_viz.files.user_corpus import CorpusFileError, encode_corpus, load_user_corpus

VOCAB = ["<pad>", "<unk>", "the", "cat", "sat", ".", "dog"]


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def test_lines_csv_tsv_conllu_and_tensor_files_are_read(tmp_path):
    lines = load_user_corpus(write(tmp_path, "c.txt", "the cat sat .\n\n  the dog  \n"))
    assert lines.format == "lines" and lines.sequences == (("the", "cat", "sat", "."), ("the", "dog"))
    table = load_user_corpus(write(tmp_path, "c.csv", 'id,text,label\n1,"the cat, sat",pos\n2,the dog,neg\n'))
    assert table.sequences == (("the", "cat,", "sat"), ("the", "dog")) and table.labels == ("pos", "neg")
    tsv = load_user_corpus(write(tmp_path, "c.tsv", "sentence\nthe cat\n"))
    assert tsv.sequences == (("the", "cat"),) and tsv.labels is None
    conllu = "1\tthe\tthe\tDET\t_\t_\t2\tdet\t_\t_\n2\tcat\tcat\tNOUN\t_\t_\t0\troot\t_\t_\n\n"
    assert load_user_corpus(write(tmp_path, "c.conllu", conllu)).sequences == (("the", "cat"),)
    path = tmp_path / "x.pt"
    torch.save(torch.randn(3, 4, 5), path)
    tensor = load_user_corpus(path, input_size=5)
    assert tensor.format == "tensor" and tensor.inputs.shape == (3, 4, 5) and tensor.n_tokens == 12
    np.save(tmp_path / "x.npy", np.zeros((2, 3, 5), np.float32))
    assert load_user_corpus(tmp_path / "x.npy", input_size=5).inputs.shape == (2, 3, 5)


def test_encoding_keeps_what_the_model_read(tmp_path):
    corpus = load_user_corpus(write(tmp_path, "c.txt", "the cat sat.\nthe zebra\nqux\n"))
    enc = encode_corpus(corpus, VOCAB)
    assert enc.written == (("the", "cat", "sat", "."), ("the", "zebra"), ("qux",))
    assert enc.read == (("the", "cat", "sat", "."), ("the", "<unk>"), ("<unk>",))
    assert enc.ids[1] == (2, 1) and enc.unknown == 2
    with pytest.raises(CorpusFileError, match="every token of c.txt is unknown to the vocabulary"):
        encode_corpus(corpus, ["a", "b"])


@pytest.mark.parametrize("name, data, message", [
    ("empty.txt", b"", "empty.txt is empty"),
    ("blank.txt", "\n \n\n", "blank.txt holds no sequences"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "image.txt is a binary file"),
    ("model.csv", b"PK\x03\x04" + bytes(100), "model.csv is a binary file"),
    ("latin.txt", "caf\xe9 au lait\n".encode("cp1252"), r"latin.txt:1: .* not valid utf-8; it looks like Latin-1"),
    ("long.txt", "short line\n" + " ".join(["tok"] * 100_000) + "\n", "long.txt:2: this sequence has 100,000 tokens"),
    ("nocol.csv", "id,body\n1,the cat\n", r"nocol.csv:1: no a text column \(tried text, sentence"),
    ("notes.docx", "the cat", "unsupported file type '.docx'"),
])
def test_bad_corpus_files_say_what_is_wrong(tmp_path, name, data, message):
    with pytest.raises(CorpusFileError, match=message):
        load_user_corpus(write(tmp_path, name, data))


def test_a_named_column_that_is_missing_is_named(tmp_path):
    path = write(tmp_path, "t.csv", "text,label\nthe cat,pos\n")
    with pytest.raises(CorpusFileError, match=r"t.csv:1: no column 'review' in the header \['text', 'label'\]"):
        load_user_corpus(path, text_column="review")


def test_a_200_mb_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.txt"
    with open(path, "wb") as fh:
        fh.truncate(200 * 2**20)  # sparse: nothing is written, and nothing may be read
    with pytest.raises(CorpusFileError, match=r"big.txt is 200.0 MiB, over the limit of 100 MiB"):
        load_user_corpus(path)


def test_a_wrong_encoding_can_be_named(tmp_path):
    path = write(tmp_path, "latin.txt", "caf\xe9 au lait\n".encode("cp1252"))
    assert load_user_corpus(path, encoding="cp1252").sequences == (("caf\xe9", "au", "lait"),)


def test_tensor_files_are_checked_against_the_model(tmp_path):
    path = tmp_path / "x.pt"
    torch.save(torch.randn(3, 4, 5), path)
    with pytest.raises(CorpusFileError, match="5 features|input_size"):
        load_user_corpus(path, input_size=7)
