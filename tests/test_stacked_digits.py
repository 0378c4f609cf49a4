"""Stacked MNIST / stacked digits and the 1000-mode counter."""

import math

import pytest
import torch
from fake_data import fake_mnist

from mmagan.data.digits import load_digits
from mmagan.data.stacked import StackedDigitsDataModule
from mmagan.errors import ConfigError, DataError
from mmagan.metrics.digit_classifier import load_or_train
from mmagan.metrics.stacked_modes import NUM_MODES, stacked_mode_figures, triple_labels


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory):
    """One classifier folder per module: the digits classifier trains once for all tests here."""
    return tmp_path_factory.mktemp("classifiers")


def stacked(tmp_path, name="stacked_digits", classifier_dir=None, **kw) -> StackedDigitsDataModule:
    dm = StackedDigitsDataModule(
        name=name,
        root=str(tmp_path / "mnist"),
        classifier_dir=str(classifier_dir or tmp_path / "clf"),
        batch_size=8,
        **kw,
    )
    dm.prepare_data()
    dm.setup()
    return dm


def intensity_label(images):
    """A stand-in classifier for counter tests: the digit is the channel's mean level / 25."""
    return ((images.mean(dim=(1, 2, 3)) + 1) * 127.5 / 25).round().long()


def stacks_of(triples):
    """(N, 3, 4, 4) samples whose channel c shows digit triples[:, c] to `intensity_label`."""
    level = triples.float() * 25 / 127.5 - 1
    return level[:, :, None, None].expand(-1, -1, 4, 4)


def test_counter_on_all_1000_modes_equally():
    triples = torch.cartesian_prod(*[torch.arange(10)] * 3).repeat(26, 1)  # 26,000 samples
    modes = triple_labels(stacks_of(triples), intensity_label)
    assert sorted(set(modes.tolist())) == list(range(NUM_MODES))
    figures = stacked_mode_figures(modes)
    assert figures["modes"] == 1000 and abs(figures["kl"]) < 1e-12


def test_counter_on_10_modes():
    triples = torch.tensor([[d, (d * 3) % 10, 9 - d] for d in range(10)]).repeat(2600, 1)
    figures = stacked_mode_figures(triple_labels(stacks_of(triples), intensity_label))
    assert figures["modes"] == 10
    assert figures["kl"] == pytest.approx(math.log(100))  # uniform over 10 of 1000 modes


def test_stacked_digits_samples_are_three_training_digits(tmp_path, classifiers):
    dm = stacked(tmp_path, num_samples=500, seed=3, classifier_dir=classifiers)
    digits, _ = load_digits("sklearn", "", train=True)
    batch = next(iter(dm.train_dataloader()))
    assert batch.shape == (8, 3, 32, 32) and batch.dtype == torch.uint8
    sample = dm.train_set[0]
    for channel, index in zip(sample, dm.train_set.triples[0]):
        assert torch.equal(channel, digits[index])
    again = stacked(tmp_path, num_samples=500, seed=3, classifier_dir=classifiers)
    other = stacked(tmp_path, num_samples=500, seed=4, classifier_dir=classifiers)
    assert torch.equal(again.train_set.triples, dm.train_set.triples)
    assert not torch.equal(other.train_set.triples, dm.train_set.triples)


def test_digits_classifier_is_accurate_cached_and_counts_real_stacks(tmp_path, classifiers):
    dm = stacked(tmp_path, num_samples=100, classifier_dir=classifiers)
    assert dm.classifier_accuracy >= 0.97  # held-out scikit-learn digits
    stamp = dm.classifier_path.stat().st_mtime_ns
    assert (
        stacked(tmp_path, num_samples=100, classifier_dir=classifiers).classifier_path.stat().st_mtime_ns
        == stamp
    )  # reused
    test_digits, labels = load_digits("sklearn", "", train=False)
    # Stacks of held-out digits covering every triple: the counter sees (nearly) all 1000 modes.
    g = torch.Generator().manual_seed(0)
    by_label = [torch.nonzero(labels == d).flatten() for d in range(10)]
    triples = torch.cartesian_prod(*[torch.arange(10)] * 3)
    pick = torch.stack(
        [
            torch.stack([by_label[d][torch.randint(len(by_label[d]), (1,), generator=g)][0] for d in t])
            for t in triples.tolist()
        ]
    )
    samples = test_digits[pick].float() / 127.5 - 1
    figures = stacked_mode_figures(triple_labels(samples, dm.classify_channels))
    assert figures["modes"] >= 950 and figures["kl"] < 0.1


def test_stacked_mnist_reads_torchvision_files_and_pads_to_32(tmp_path):
    fake_mnist(tmp_path / "mnist", n_train=300, n_test=100)
    dm = stacked(tmp_path, name="stacked_mnist", num_samples=200)
    assert dm.sample_shape == (3, 32, 32) and len(dm.train_set) == 200
    sample = dm.train_set[0]
    assert (sample[:, :2] == 0).all() and (sample[:, -2:] == 0).all()  # 28x28 padded by 2
    assert (tmp_path / "clf" / "stacked_mnist.pt").is_file()


def test_stacked_mnist_offline_names_the_files(tmp_path, monkeypatch):
    def no_internet(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr("torchvision.datasets.MNIST.download", no_internet)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz.*t10k-labels-idx1-ubyte\.gz"):
        stacked(tmp_path, name="stacked_mnist", num_samples=100)


def test_classifier_is_retrained_when_the_digits_change(tmp_path):
    train, test = load_digits("sklearn", "", True), load_digits("sklearn", "", False)
    path = tmp_path / "c.pt"
    load_or_train(path, (train[0][:200], train[1][:200]), test, epochs=1)
    first = torch.load(path, weights_only=True)["fingerprint"]
    load_or_train(path, (train[0][:300], train[1][:300]), test, epochs=1)
    assert torch.load(path, weights_only=True)["fingerprint"] != first


def test_bad_stacked_settings(tmp_path):
    with pytest.raises(ConfigError, match="data.num_samples=4: the stacked set holds 4 images"):
        StackedDigitsDataModule(name="stacked_digits", num_samples=4, batch_size=8)
    with pytest.raises(ConfigError, match="data.loader.num_workers='many'"):
        StackedDigitsDataModule(name="stacked_digits", loader={"num_workers": "many"})


def test_loading_the_cached_classifier_leaves_the_random_stream_alone(tmp_path):
    """A run's latents must not depend on whether the classifier was trained now or cached."""
    import torch

    from mmagan.data.digits import load_digits

    train, test = (
        load_digits("sklearn", tmp_path, True, False),
        load_digits("sklearn", tmp_path, False, False),
    )
    states = []
    for _ in range(2):  # trained and saved, then loaded from the cache
        torch.manual_seed(0)
        load_or_train(tmp_path / "clf.pt", train, test, epochs=1)
        states.append(torch.get_rng_state())
    assert torch.equal(states[0], states[1])


def test_single_digits_are_one_grayscale_training_digit_with_ten_modes(tmp_path, classifiers):
    dm = stacked(tmp_path, name="digits", num_samples=300, seed=1, classifier_dir=classifiers)
    digits, labels = load_digits("sklearn", "", train=True)
    assert dm.sample_shape == (1, 32, 32)
    batch = dm.train_set.__getitems__(list(range(300)))
    assert batch.shape == (300, 1, 32, 32) and batch.dtype == torch.uint8
    assert torch.equal(batch[:, 0], digits[dm.train_set.triples[:, 0]])
    # The counter reads one digit per sample: 10 modes; real digits cover them, uniformly enough.
    figures = stacked_mode_figures(triple_labels(batch.float() / 127.5 - 1, dm.classify_channels), 10)
    assert figures["modes"] == 10 and figures["kl"] < 0.05
    assert triple_labels(stacks_of(torch.tensor([[7], [3]])), intensity_label).tolist() == [7, 3]
