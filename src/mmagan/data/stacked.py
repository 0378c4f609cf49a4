"""Stacked MNIST and stacked digits: three digits as the R, G and B channels, so 1000 modes
whose coverage a digit classifier can count; `digits`: one grayscale digit per sample (10 modes),
data whose samples a reader recognises at 32 px on the CPU (the inspection and StyleGAN figures)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from mmagan.checks import Checks, check_values, int_at_least
from mmagan.data.base import EvaluationOffer
from mmagan.data.digits import load_digits
from mmagan.data.images import IMAGE_CHECKS, ImageDataModule
from mmagan.errors import ConfigError
from mmagan.metrics.digit_classifier import DigitClassifier, load_or_train

#: data.name -> (digit set, classifier epochs: enough for >= 98% on MNIST, converged on 8x8 digits,
#: digits stacked per sample: its channels)
STACKED = {
    "stacked_mnist": ("mnist", 3, 3),
    "stacked_digits": ("sklearn", 40, 3),
    "digits": ("sklearn", 40, 1),
}


class StackedDigits(Dataset):
    """`triples[i]` indexes the digits stacked into sample i (three, or one for `digits`); built
    per batch, not stored."""

    def __init__(self, digits: Tensor, triples: Tensor) -> None:
        self.digits, self.triples = digits, triples

    def __len__(self) -> int:
        return len(self.triples)

    def __getitem__(self, index: int) -> Tensor:
        return self.digits[self.triples[index]]

    def __getitems__(self, indices: list[int] | Tensor) -> Tensor:
        return self.digits[self.triples[torch.as_tensor(indices, device=self.triples.device)]]

    def on_device(self, device: torch.device) -> StackedDigits:
        return StackedDigits(self.digits.to(device), self.triples.to(device))


RESOLUTION = 32  # MNIST zero-padded from 28 px, scikit-learn's digits upsampled from 8 px


class StackedDigitsDataModule(ImageDataModule):
    checks: Checks = {**IMAGE_CHECKS, "num_samples": (int_at_least(1), "an integer >= 1")}
    """`num_samples` stacks drawn once with `seed` from the training digits (VEEGAN: 128k)."""

    @classmethod
    def shape_for(cls, data: dict) -> tuple[int, ...]:
        return (STACKED[data.get("name", "stacked_mnist")][2], RESOLUTION, RESOLUTION)

    def __init__(
        self,
        name: str = "stacked_mnist",
        root: str = "data/mnist",
        download: bool = True,
        num_samples: int = 128_000,
        seed: int = 0,
        classifier_dir: str = "data/classifiers",
        **kwargs,
    ) -> None:
        if name not in STACKED:
            raise ConfigError(f"data.name={name!r} is not a stacked data set; known: {sorted(STACKED)}")
        super().__init__(resolution=RESOLUTION, channels=STACKED[name][2], **kwargs)
        check_values({"num_samples": num_samples}, "data.", self.checks)
        self.check_size(num_samples, f"data.num_samples={num_samples}: the stacked set")
        self.name, self.root, self.download = name, Path(root), download
        self.digit_set, self.classifier_epochs, self.stack = STACKED[name]
        self.num_samples, self.seed = num_samples, seed
        self.classifier_path = Path(classifier_dir) / f"{name}.pt"
        self.classifier: DigitClassifier | None = None
        self.classifier_accuracy: float | None = None

    def _digits(self, train: bool) -> tuple[Tensor, Tensor]:
        return load_digits(self.digit_set, self.root, train, self.download)

    def _load_classifier(self) -> None:
        self.classifier, self.classifier_accuracy = load_or_train(
            self.classifier_path, self._digits(True), self._digits(False), self.classifier_epochs
        )

    def prepare_data(self) -> None:
        # Rank 0 downloads the digits and trains the classifier; the others load both in setup.
        self._load_classifier()

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        digits, _ = self._digits(True)
        g = torch.Generator().manual_seed(self.seed)
        triples = torch.randint(len(digits), (self.num_samples, self.stack), generator=g)
        self.train_set = StackedDigits(digits, triples)
        if self.classifier is None:
            self._load_classifier()

    def evaluation(self) -> EvaluationOffer:
        """The digit classifier's channel-wise labelling, so that modes (of 10^channels) and KL to
        the uniform mode distribution are counted; reference images for FID where asked."""
        return EvaluationOffer(
            classify_channels=self.classify_channels,
            reference_images=self.reference_images,
            reference_key=self.reference_key,
        )

    def classify_channels(self, images: Tensor) -> Tensor:
        """Digit labels of single-channel images (N, 1, 32, 32) in [-1, 1], on their device."""
        self.classifier.to(images.device)
        return self.classifier.predict(images.float())
