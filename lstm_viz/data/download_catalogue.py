"""The datasets lstm-viz can download: where each file lives, its checksum, and how it is unpacked."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch. With `base_url`, it is fetched from `<base_url>/<filename>` instead of `url`."""

    filename: str  # name in the cache folder and under a base_url
    url: str  # the official location
    sha256: str | None  # None only where no checksum is published; then `DownloadSpec.check` is used
    size: int | None = None  # bytes, for a progress total before the server answers


@dataclass(frozen=True)
class DownloadSpec:
    """What a downloadable dataset is made of and how its files are checked."""

    name: str
    task: str
    description: str
    files: tuple[RemoteFile, ...]
    archive: bool  # True: files[0] is a .zip/.tar.gz to extract; False: the files are the data
    marker: str  # a path that exists inside the data folder; finds that folder in an extracted archive
    check: Mapping[str, str] = field(default_factory=dict)  # data-folder-relative path -> sha256 after extraction
    license: str = ""


_UD = "https://raw.githubusercontent.com/UniversalDependencies/UD_English-EWT/r2.16"
DOWNLOADS: dict[str, DownloadSpec] = {
    spec.name: spec
    for spec in (
        DownloadSpec(
            name="ud-english-ewt",
            task="pos",
            description="UD English Web Treebank r2.16: 12,544 / 2,001 / 2,077 sentences, 17 UPOS tags (17 MB)",
            files=(
                RemoteFile("en_ewt-ud-train.conllu", f"{_UD}/en_ewt-ud-train.conllu",
                           "3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b", 14_203_025),
                RemoteFile("en_ewt-ud-dev.conllu", f"{_UD}/en_ewt-ud-dev.conllu",
                           "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6", 1_805_545),
                RemoteFile("en_ewt-ud-test.conllu", f"{_UD}/en_ewt-ud-test.conllu",
                           "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd", 1_804_515),
            ),
            archive=False,
            marker="en_ewt-ud-train.conllu",
            license="CC BY-SA 4.0",
        ),
        DownloadSpec(
            name="sst2",
            task="sentiment",
            description="GLUE SST-2: 67,349 train phrases, 872 dev sentences; dev is the evaluation split (7 MB)",
            files=(
                RemoteFile("SST-2.zip", "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
                           "d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa", 7_439_277),
            ),
            archive=True,
            marker="dev.tsv",
            check={"train.tsv": "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1",
                   "dev.tsv": "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0"},
            license="none stated; cite Socher et al. 2013 and GLUE",
        ),
        DownloadSpec(
            name="imdb",
            task="sentiment",
            description="IMDB Large Movie Review v1.0: 25,000 train / 25,000 test reviews (84 MB download)",
            files=(
                RemoteFile("aclImdb_v1.tar.gz", "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                           "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe", 84_125_825),
            ),
            archive=True,
            marker="train/pos",
            license="none stated; cite Maas et al. 2011",
        ),
        DownloadSpec(
            name="rt-polarity",
            task="sentiment",
            description="Sentence polarity v1.0 (Pang & Lee 2005): 5,331 positive + 5,331 negative snippets",
            files=(
                # No checksum of the archive is published; the two data files inside are checked instead.
                RemoteFile("rt-polaritydata.tar.gz",
                           "https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz", None),
            ),
            archive=True,
            marker="rt-polarity.pos",
            check={"rt-polarity.pos": "d79ef14009bbf87cd6be21f91c3ea1a3cbcb73b34dfb4231aef7bbcd7677abc4",
                   "rt-polarity.neg": "4af43bf489620b498a0852c5a8c6a535155dec7985fdfea782b8f7756b957ccc"},
            license="none stated; cite Pang & Lee 2005",
        ),
    )
}
