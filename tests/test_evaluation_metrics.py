"""FID / IS / KID through torch-fidelity against independent formulas, the real-feature cache,
LPIPS diversity against lpips.LPIPS, offline weights errors, and the training callbacks."""

import json
import urllib.error

import lpips
import numpy as np
import pytest
import scipy.linalg
import torch
import torchvision
from helpers import OFFLINE_METRICS, TINY_STACKED_DIGITS
from tiny_extractor import NAME, TinyExtractor

from mmagan.errors import ConfigError
from mmagan.metrics.fidelity import FidelitySettings, fidelity_metrics, images_fingerprint
from mmagan.metrics.lpips_diversity import load_lpips, lpips_diversity, pairwise_lpips
from mmagan.train import train


@pytest.fixture
def settings(tmp_path):
    return FidelitySettings(
        feature_extractor=NAME,
        feature_extractor_class="tiny_extractor.TinyExtractor",
        cache_dir=str(tmp_path / "cache"),
        batch_size=64,
        progress=False,
    )


def images(n, seed, low=0, high=256):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(low, high, (n, 3, 16, 16), generator=g, dtype=torch.uint8)


def feats(x, layer="feat"):
    return TinyExtractor(NAME, ["feat"]).features(x)[layer].double().numpy()


def test_fid_matches_scipy_on_the_same_features(settings):
    fake, real = images(200, 0, high=200), images(300, 1)
    got = fidelity_metrics(fake, ["fid"], settings, real=real, real_key="r")["fid"]
    a, b = feats(fake), feats(real)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)
    assert expected > 1e-3 and got == pytest.approx(expected, rel=1e-6)
    same = fidelity_metrics(real, ["fid"], settings, real=real, real_key="r")["fid"]
    assert abs(same) < 1e-6


def test_inception_score_matches_the_formula(settings):
    fake = images(200, 2)
    settings.is_splits = 1
    got = fidelity_metrics(fake, ["is"], settings)["is"]
    p = torch.softmax(torch.from_numpy(feats(fake, "logits_unbiased")), dim=1)
    py = p.mean(0, keepdim=True)
    expected = torch.exp((p * (p.log() - py.log())).sum(1).mean()).item()
    assert got == pytest.approx(expected, rel=1e-5)


def test_kid_matches_the_unbiased_mmd_formula(settings):
    fake, real = images(120, 3, high=180), images(120, 4)
    settings.kid_subsets, settings.kid_subset_size = 1, 120  # one subset = the whole sets
    got = fidelity_metrics(fake, ["kid"], settings, real=real, real_key="r")["kid"]
    x, y = feats(fake), feats(real)
    m, d = len(x), x.shape[1]

    def k(a, b):
        return (a @ b.T / d + 1) ** 3

    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    expected = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
    assert got == pytest.approx(expected, rel=1e-5)


def test_one_call_gives_fid_is_and_kid_from_one_feature_pass(settings):
    fake, real = images(100, 5), images(150, 6)
    TinyExtractor.calls = 0
    out = fidelity_metrics(fake, ["fid", "is", "kid"], settings, real=real, real_key="one-pass")
    assert {"fid", "is", "is_std", "kid", "kid_std"} <= set(out)
    assert TinyExtractor.calls == 100 + 150  # each image through the extractor once


def test_real_features_are_cached_and_invalidated_by_data_or_weights(settings, tmp_path):
    fake, real = images(100, 7), images(150, 8)
    key = f"toy-32-{images_fingerprint(real)}"
    TinyExtractor.calls = 0
    first = fidelity_metrics(fake, ["fid", "kid"], settings, real=real, real_key=key)
    assert TinyExtractor.calls == 250
    TinyExtractor.calls = 0
    second = fidelity_metrics(fake, ["fid", "kid"], settings, real=real, real_key=key)
    assert TinyExtractor.calls == 100 and second["fid"] == pytest.approx(first["fid"])  # real from cache
    changed = real.clone()
    changed[0] = 255 - changed[0]
    assert images_fingerprint(changed) != images_fingerprint(real)
    TinyExtractor.calls = 0
    fidelity_metrics(fake, ["fid"], settings, real=changed, real_key=f"toy-32-{images_fingerprint(changed)}")
    assert TinyExtractor.calls == 250  # another data set: recomputed
    for i, content in enumerate((b"weights A", b"weights B")):
        (tmp_path / f"w{i}.pt").write_bytes(content)
        settings.weights_path = str(tmp_path / f"w{i}.pt")
        TinyExtractor.calls = 0
        fidelity_metrics(fake, ["fid"], settings, real=real, real_key=key)
        assert TinyExtractor.calls == 250  # other weights: recomputed


def test_unknown_fidelity_metric_and_extractor(settings):
    with pytest.raises(ConfigError, match="unknown fidelity metric 'lpips'"):
        fidelity_metrics(images(10, 0), ["lpips"], settings)
    settings.feature_extractor_class = "no_such_module.Extractor"
    with pytest.raises(ConfigError, match="no_such_module.Extractor' cannot be imported"):
        settings.weights()


# ----------------------------------------------------------------------------------------------- LPIPS
@pytest.fixture(scope="module")
def lpips_model():
    torch.manual_seed(0)
    return load_lpips(random_trunk=True)


def test_shared_feature_distances_match_lpips_pair_by_pair(lpips_model):
    x = torch.rand(6, 3, 64, 64) * 2 - 1
    d = pairwise_lpips(lpips_model, x)
    for i in range(6):
        for j in range(6):
            expected = lpips_model(x[i : i + 1], x[j : j + 1]).item()
            assert d[i, j].item() == pytest.approx(expected, abs=1e-5)


def test_diversity_is_zero_for_identical_samples_and_grows_with_noise(lpips_model):
    base = torch.rand(1, 3, 32, 32).expand(40, -1, -1, -1) * 2 - 1
    same = lpips_diversity(lpips_model, base, minibatch=20)
    assert same["lpips_diversity"] < 1e-6 and same["lpips_pairs"] == 2 * 190
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(40, 3, 32, 32, generator=g)
    values = [lpips_diversity(lpips_model, (base + s * noise).clamp(-1, 1), 20) for s in (0.05, 0.2, 0.6)]
    means = [v["lpips_diversity"] for v in values]
    assert means[0] < means[1] < means[2]
    assert all(0 < v["lpips_diversity_se"] < v["lpips_diversity"] for v in values)


def test_lpips_trunk_loads_torchvision_alexnet_weights_from_a_file(tmp_path):
    state = torchvision.models.alexnet().state_dict()
    torch.save(state, tmp_path / "alexnet.pth")
    model = load_lpips(str(tmp_path / "alexnet.pth"))
    assert torch.equal(model.net.slice1[0].weight, state["features.0.weight"])
    assert torch.equal(getattr(model.net.slice5, "10").bias, state["features.10.bias"])
    assert isinstance(model, lpips.LPIPS)


# -------------------------------------------------------------------------------- offline and training
@pytest.fixture
def stacked_cfg(make_cfg, tmp_path):
    def make(*overrides):
        return make_cfg(
            *TINY_STACKED_DIGITS, "iterations=4", "trainer.val_check_interval=2", "eval.num_samples=96",
            "eval.batch_size=48", f"paths.data_dir={tmp_path / 'data'}", *overrides,
        )  # fmt: skip

    return make


def test_missing_weights_offline_stop_before_training(stacked_cfg, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def no_internet(*a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_internet)
    with pytest.raises(ConfigError) as err:
        train(stacked_cfg("callbacks.fidelity.metrics=[fid]"))
    message = str(err.value)
    assert "weights-inception-2015-12-05-6726825d.pth" in message and str(tmp_path / "hub") in message
    assert "fidelity.weights_path" in message
    with pytest.raises(ConfigError, match=r"alexnet-owt-7be5be79\.pth.*fidelity\.lpips_trunk_weights_path"):
        train(stacked_cfg("callbacks.lpips_diversity.enabled=true"))
    with pytest.raises(ConfigError, match=r"alexnet-owt-7be5be79\.pth.*fidelity\.lpips_trunk_weights_path"):
        train(stacked_cfg("callbacks.ppl.enabled=true"))  # perceptual path length measures with LPIPS
    assert not (tmp_path / "run" / "checkpoints").exists()  # nothing trained


def test_training_logs_fid_is_kid_lpips_and_keeps_the_best_fid(stacked_cfg, tmp_path):
    cfg = stacked_cfg(
        "callbacks.fidelity.metrics=[fid,is,kid]",
        "callbacks.lpips_diversity.enabled=true",
        "callbacks.lpips_diversity.num_samples=64",
        "callbacks.lpips_diversity.minibatch=32",
        "fidelity.kid_subsets=5",
        *OFFLINE_METRICS,
    )
    figures = train(cfg)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for name in ("fid", "is", "kid", "lpips_diversity", "lpips_diversity_se", "fidelity_seconds"):
        assert f"metrics/{name}" in saved, name
    assert saved["metrics/fid"] > 0 and saved["metrics/lpips_pairs"] == 2 * (32 * 31 // 2)
    assert figures["metrics/fid"] == pytest.approx(saved["metrics/fid"])
    assert (tmp_path / "run" / "checkpoints" / "best-fid.ckpt").is_file()
    csv = (tmp_path / "run" / "csv" / "metrics.csv").read_text()
    assert "metrics/fid" in csv.splitlines()[0]  # logged to the loggers too


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("callbacks.fidelity.metrics=[fid,lpips]", "callbacks.fidelity.metrics"),
        ("fidelity.kid_subsets=0", "fidelity.kid_subsets=0"),
        ("+fidelity.inception=x", "fidelity.inception is not a known key"),
    ],
)
def test_bad_metric_settings(stacked_cfg, override, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("[", r"\[")):
        train(stacked_cfg(override))


def test_image_metrics_on_2d_data_are_refused(make_cfg):
    with pytest.raises(ConfigError, match="need image data"):
        train(make_cfg("callbacks.fidelity.metrics=[fid]", *OFFLINE_METRICS))


def test_a_metric_family_registered_in_a_test_is_scored_with_the_others(monkeypatch):
    """One registry for the metrics: a family added from outside is scored by `score` from the
    inputs it declares, beside the built-in ones, with nothing else changed."""
    import torch

    from mmagan.metrics import score as scoring

    seen = []

    def mean_pixel(names, scorer, inputs):
        seen.append(names)
        return {"mean_pixel": float(inputs.images.float().mean())}

    monkeypatch.setitem(
        scoring.METRIC_FAMILIES, "mean_pixel", scoring.MetricFamily(("mean_pixel",), "images", mean_pixel)
    )
    monkeypatch.setattr(scoring, "METRICS", (*scoring.METRICS, "mean_pixel"))
    images = torch.full((4, 3, 8, 8), 10, dtype=torch.uint8)
    assert scoring.score(["mean_pixel"], scoring.Scorer(), images) == {"mean_pixel": 10.0}
    assert seen == [["mean_pixel"]] and scoring.needs("mean_pixel") == "images"
    with pytest.raises(ValueError, match="unknown metric 'nope'"):
        scoring.score(["nope"], scoring.Scorer(), images)
