"""The digit classifier that labels each channel of stacked samples: trained once per digit set
and cached on disk with its test accuracy."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmagan.runs.files import atomic_write, fingerprint

log = logging.getLogger("mmagan")


class DigitClassifier(nn.Module):
    """A small CNN on 32x32 digits in [-1, 1] (pooled to 16x16 first: ample for digits, 4x cheaper)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.AvgPool2d(2),
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, 128),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(128, 10),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    @torch.no_grad()
    def predict(self, x: Tensor, batch_size: int = 2048) -> Tensor:
        """Labels of single-channel images (N, 1, 32, 32) in [-1, 1]."""
        return torch.cat([self(chunk).argmax(1) for chunk in x.split(batch_size)])


def _as_input(digits: Tensor) -> Tensor:
    return digits.float().div(127.5).sub(1.0)[:, None]


def accuracy(model: DigitClassifier, digits: Tensor, labels: Tensor) -> float:
    """The classifier's share of correct labels on (images, labels), in [0, 1]."""
    model.eval()
    return float((model.predict(_as_input(digits)) == labels).float().mean())


def train_classifier(
    train: tuple[Tensor, Tensor],
    test: tuple[Tensor, Tensor],
    epochs: int,
    seed: int = 0,
    batch_size: int = 128,
) -> tuple[DigitClassifier, float]:
    """Adam with light shift augmentation; returns the model and its test accuracy."""
    digits, labels = train
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = DigitClassifier()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = _as_input(digits)
        for _ in range(epochs):
            model.train()
            for idx in torch.randperm(len(x)).split(batch_size):
                batch = x[idx]
                shift = torch.randint(-2, 3, (2,)).tolist()  # generated digits are rarely centred
                batch = torch.roll(batch, shifts=shift, dims=(2, 3))
                loss = F.cross_entropy(model(batch), labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    return model, accuracy(model, *test)


def digits_fingerprint(digits: Tensor, labels: Tensor) -> str:
    """A content key of the training digits: a cached classifier is reused only for the same digits."""
    return fingerprint([digits.contiguous().numpy().tobytes(), labels.numpy().tobytes()])


def load_or_train(
    path: str | Path, train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor], epochs: int
) -> tuple[DigitClassifier, float]:
    """The classifier cached at `path` when it was trained on these digits, else a new one (saved)."""
    path = Path(path)
    key = digits_fingerprint(*train)
    if path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved.get("fingerprint") == key:
            with torch.random.fork_rng():  # a run's random stream must not depend on this cache
                model = DigitClassifier()
            model.load_state_dict(saved["state_dict"])
            return model.eval(), float(saved["test_accuracy"])
    log.info("training the digit classifier for mode counting (once; cached at %s)", path)
    model, acc = train_classifier(train, test, epochs)
    log.info("digit classifier test accuracy: %.4f on %d test digits", acc, len(test[0]))
    saved = {"state_dict": model.state_dict(), "test_accuracy": acc, "fingerprint": key}
    atomic_write(path, lambda tmp: torch.save(saved, tmp))
    return model.eval(), acc
