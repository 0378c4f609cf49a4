"""Looking inside G: layers, vectors written back with hooks, painting, interpolation, neighbours."""

import pytest
import torch
from torch import nn

from mmagan.inspect.layers import InspectError, find_layer, list_layers, module_at
from mmagan.inspect.neighbours import nearest
from mmagan.inspect.paint import Stroke, paint
from mmagan.inspect.paths import frame_distances, lerp, slerp
from mmagan.inspect.surgery import grid_mask, tiled, writing
from mmagan.inspect.vectors import VectorBank, collect
from mmagan.sampler import Sampler


class TinyG(nn.Module):
    """z -> a spatially constant 4x4 layer (`const`) -> 3x3 conv (`conv1`, 4x4) -> 2x upsampling ->
    3x3 conv -> tanh: 8x8 images. A cell (y, x) of conv1 reaches output pixels 2y-1 .. 2x+2 in each
    direction: upsampling copies it to 2y, 2y+1 and the last 3x3 conv widens that by one."""

    def __init__(self, latent: int = 4, c: int = 6) -> None:
        super().__init__()
        self.fc = nn.Linear(latent, c)
        self.const = nn.Upsample(scale_factor=4)
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2)
        self.conv2 = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, z):
        x = self.const(self.fc(z)[:, :, None, None])
        return torch.tanh(self.conv2(self.up(self.conv1(x))))


@pytest.fixture
def g():
    torch.manual_seed(0)
    return Sampler(TinyG(), 4, (3, 8, 8))


def test_layers_are_listed_with_their_shapes_and_found_by_path_or_index(g):
    layers = list_layers(g.net, 4)
    assert [(layer.path, layer.shape) for layer in layers] == [
        ("fc", (6,)), ("const", (6, 4, 4)), ("conv1", (6, 4, 4)), ("up", (6, 8, 8)), ("conv2", (3, 8, 8)),
    ]  # fmt: skip
    assert find_layer(g.net, 4, "conv1") == find_layer(g.net, 4, 2)
    with pytest.raises(
        InspectError, match=r"layer 'nope' is not a layer of this generator; its layers: 0:fc"
    ):
        find_layer(g.net, 4, "nope")
    with pytest.raises(InspectError, match=r"layer 'fc' outputs \[6\], not \(C, H, W\)"):
        find_layer(g.net, 4, "fc")


def test_a_hook_that_replaces_nothing_leaves_g_unchanged(g):
    layer = find_layer(g.net, 4, "conv1")
    z = g.latents(5, seed=1)
    plain = g(z)
    with writing(module_at(g.net, layer), torch.randn(6, 4, 4), torch.zeros(4, 4, dtype=torch.bool)):
        assert torch.equal(g(z), plain)


def test_grid_of_one_is_full_replace(g):
    layer = find_layer(g.net, 4, "conv1")
    v = torch.randn(6)
    values, lattice = tiled(v, layer, 1)
    assert lattice.all()
    z = g.latents(2, seed=3)
    with writing(module_at(g.net, layer), values, lattice):
        grid_one = g(z)
    with writing(
        module_at(g.net, layer), v[:, None, None].expand(6, 4, 4), torch.ones(4, 4, dtype=torch.bool)
    ):
        assert torch.equal(g(z), grid_one)
    assert grid_mask(4, 4, 2).sum() == 4 and grid_mask(4, 4, 2)[0, 2] and not grid_mask(4, 4, 2)[1, 0]


def test_full_replace_with_a_constant_layers_own_vector_reproduces_the_image(g):
    bank = collect(g, "const", n=3, seed=5)
    assert len(bank) == 3 * 4 * 4 and bank.index[17].tolist() == [1, 0, 1]
    for i in (0, 1, 2):
        vector = bank.vector(i * 16 + 7)  # latent i, position (1, 3): the layer is the same everywhere
        original = g.sample(3, seed=5)[i]
        values, everywhere = tiled(vector, bank.layer, 1)
        with writing(module_at(g.net, bank.layer), values, everywhere):
            torch.testing.assert_close(g(g.latents(3, seed=5))[i], original)


def test_painting_changes_the_region_and_nothing_beyond_g_s_receptive_field(g):
    bank = collect(g, "conv1", n=4, seed=0)
    labels = torch.zeros(4, 4, dtype=torch.long)
    labels[0, 0] = 1  # paint conv1's top-left cell only
    strokes = {"#000000": None, "#ffffff": Stroke(bank.vector(40) * 5, 1)}
    base, image = paint(g, bank, labels, ["#000000", "#ffffff"], strokes, base_seed=2)
    changed = (image - base).abs().amax(0) > 0
    assert changed[:3, :3].any()  # cell (0, 0) reaches output rows and columns 0..2
    assert not changed[3:, :].any() and not changed[:, 3:].any()


def test_painting_errors_are_one_line(g):
    bank = collect(g, "conv1", n=1, seed=0)
    with pytest.raises(InspectError, match=r"map colours \['#ff0000'\] are not in the palette"):
        paint(g, bank, torch.zeros(4, 4, dtype=torch.long), ["#ff0000"], {"#000000": None})
    with pytest.raises(InspectError, match=r"vector id 16 is out of range: this bank holds ids 0 to 15"):
        bank.vector(16)
    for bad in (0, 5):
        with pytest.raises(
            InspectError, match=rf"grid size {bad} is invalid: must be an integer from 1 to 4"
        ):
            tiled(bank.vector(0), bank.layer, bad)


def test_vector_bank_round_trip_and_cluster_representatives_are_real_vectors(g, tmp_path):
    bank = collect(g, "conv1", n=4, seed=0)
    again = VectorBank.load(bank.save(tmp_path / "v.pt"))
    assert torch.equal(again.vectors, bank.vectors) and again.layer == bank.layer
    centres = again.cluster_centres(3)
    assert centres.shape == (3, 6)
    assert all((bank.vectors == c).all(1).any() for c in centres)


def test_interpolation_ends_at_its_samples_and_slerp_keeps_the_norm():
    torch.manual_seed(0)
    a = torch.randn(16)
    b = torch.randn(16)
    b = b / b.norm() * a.norm()
    for path in (lerp(a, b, 7), slerp(a, b, 7)):
        torch.testing.assert_close(path[0], a)
        torch.testing.assert_close(path[-1], b)
    torch.testing.assert_close(slerp(a, b, 9).norm(dim=1), torch.full((9,), float(a.norm())))
    assert (lerp(a, b, 9).norm(dim=1)[4] < a.norm() * 0.95).item()  # the straight line cuts inside
    frames = lerp(torch.zeros(3), torch.ones(3), 5)
    torch.testing.assert_close(frame_distances(frames), torch.full((4,), 0.25))


def test_interpolation_gif_plays_the_path_forth_and_back(g, tmp_path):
    from PIL import Image

    from mmagan.inspect.figures import save_gif

    frames = g(slerp(g.latents(1, seed=0)[0] * 3, g.latents(1, seed=1)[0] * 3, 6))
    save_gif(frames, tmp_path / "path.gif")
    assert Image.open(tmp_path / "path.gif").n_frames == 6 + 4


def test_a_training_image_is_its_own_nearest_neighbour():
    g = torch.Generator().manual_seed(0)
    train = torch.randint(0, 256, (50, 3, 8, 8), generator=g, dtype=torch.uint8)
    d, i = nearest(train[[3, 17]], train, k=2, batch_size=16)
    assert i[:, 0].tolist() == [3, 17] and d[:, 0].tolist() == [0.0, 0.0]
    assert (d[:, 1] > 0).all()


def test_a_checkpoint_without_a_generator_is_one_clear_error(tmp_path):
    from mmagan import load_generator
    from mmagan.errors import CheckpointError

    path = tmp_path / "d_only.ckpt"
    torch.save(
        {"mmagan": {"config": {}, "sample_shape": [2]}, "state_dict": {"discriminator.w": torch.zeros(1)}},
        path,
    )
    with pytest.raises(CheckpointError, match=r"d_only\.ckpt holds no generator weights"):
        load_generator(path)


@pytest.fixture(scope="module")
def digits_ckpt(tmp_path_factory):
    """A short MMA-GAN run on the stacked digits (DCGAN nets): the checkpoint the commands read."""
    from helpers import TINY_STACKED_DIGITS

    from mmagan.config import compose
    from mmagan.train import train

    tmp = tmp_path_factory.mktemp("inspect")
    cfg = compose(
        "train",
        [*TINY_STACKED_DIGITS, "iterations=3", "eval.num_samples=32", "eval.batch_size=32",
         f"paths.data_dir={tmp / 'data'}", f"paths.output_dir={tmp / 'run'}"],
    )  # fmt: skip
    train(cfg)
    return tmp / "run" / "checkpoints" / "last.ckpt", tmp


def test_every_command_runs_on_a_checkpoint(digits_ckpt, capsys):
    from PIL import Image

    from mmagan.inspect.cli import inspect_main, paint_main

    ckpt, tmp = digits_ckpt
    inspect_main(["layers", str(ckpt)])
    listing = capsys.readouterr().out
    assert "main.5" in listing and "(16, 8, 8)" in listing  # g_width 8: 16 channels at 8x8
    inspect_main(["vectors", str(ckpt), "--layer", "main.5", "--latents", "4", "--out", str(tmp / "v.pt")])
    assert len(VectorBank.load(tmp / "v.pt")) == 4 * 8 * 8
    inspect_main(
        ["gallery", str(ckpt), "--vectors", str(tmp / "v.pt"), "--clusters", "3", "--out", str(tmp / "g.png")]
    )
    inspect_main(["interpolate", str(ckpt), "--seeds", "0,1,2", "--steps", "4", "--out", str(tmp / "i.png")])
    inspect_main(["neighbours", str(ckpt), "--samples", "2", "--k", "2", "--out", str(tmp / "n.png")])
    Image.new("RGB", (32, 32), "black").save(tmp / "map.png")
    pixels = Image.open(tmp / "map.png").load()
    for y in range(8, 24):
        for x in range(8, 24):
            pixels[x, y] = (255, 0, 0)
    Image.open(tmp / "map.png").save(tmp / "map.png")
    (tmp / "palette.yaml").write_text("'#000000': keep\n'#ff0000': {cluster: 1, grid: 2}\n")
    paint_main([str(ckpt), "--vectors", str(tmp / "v.pt"), "--map", str(tmp / "map.png"),
                "--palette", str(tmp / "palette.yaml"), "--out", str(tmp / "p.png")])  # fmt: skip
    for name in ("g.png", "i.png", "i_smoothness.png", "n.png", "p.png"):
        assert (tmp / name).stat().st_size > 1000, name
    assert Image.open(tmp / "i.gif").format == "GIF"


def test_command_errors_are_one_line_and_exit_2(digits_ckpt, caplog):
    from mmagan.inspect.cli import inspect_main

    ckpt, tmp = digits_ckpt
    with pytest.raises(SystemExit) as e:
        inspect_main(["vectors", str(ckpt), "--layer", "main.99", "--out", str(tmp / "x.pt")])
    assert e.value.code == 2 and "inspect error: layer 'main.99' is not a layer" in caplog.text


def test_tileability_is_one_for_a_vector_whose_tiling_is_its_own_image(g):
    from mmagan.inspect.gallery import tileability

    constant = collect(g, "const", n=3, seed=4)  # tiling a constant layer's vector changes nothing
    assert torch.allclose(tileability(g, constant, [5, 20, 40]), torch.ones(3), atol=1e-5)
    varied = collect(g, "conv1", n=3, seed=4)
    assert (tileability(g, varied, [5, 20, 40]) < 1 - 1e-3).all()


def test_an_exported_generator_is_inspected_too_and_a_path_needs_two_seeds(digits_ckpt, caplog):
    from mmagan.inspect.cli import inspect_main
    from mmagan.runs.checkpoints import export_generator

    ckpt, tmp = digits_ckpt
    exported = export_generator(ckpt, tmp / "g.pt")  # no D inside: no head bars, still a figure
    inspect_main(
        ["interpolate", str(exported), "--seeds", "0,1", "--steps", "3", "--out", str(tmp / "e.png")]
    )
    assert (tmp / "e.png").is_file()
    with pytest.raises(SystemExit) as e:
        inspect_main(["interpolate", str(exported), "--seeds", "0", "--out", str(tmp / "x.png")])
    assert e.value.code == 2 and "a path needs two seeds or more" in caplog.text


def test_missing_input_files_are_one_line(digits_ckpt, tmp_path, caplog):
    from mmagan.inspect.cli import inspect_main, paint_main

    ckpt, _ = digits_ckpt
    with pytest.raises(SystemExit) as e:
        inspect_main(["gallery", str(ckpt), "--vectors", str(tmp_path / "none.pt")])
    assert e.value.code == 2 and "--vectors " in caplog.text and "none.pt is not a file" in caplog.text
    with pytest.raises(SystemExit) as e:
        paint_main([str(ckpt), "--layer", "main.5", "--map", str(tmp_path / "m.png"), "--palette", "p.yaml"])
    assert e.value.code == 2 and "--map " in caplog.text and "m.png is not a file" in caplog.text
