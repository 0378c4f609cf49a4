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


def test_grid_of_zero_is_full_replace(g):
    layer = find_layer(g.net, 4, "conv1")
    v = torch.randn(6)
    values, lattice = tiled(v, layer, 0)
    assert lattice.all()
    z = g.latents(2, seed=3)
    with writing(module_at(g.net, layer), values, lattice):
        grid_one = g(z)
    with writing(
        module_at(g.net, layer), v[:, None, None].expand(6, 4, 4), torch.ones(4, 4, dtype=torch.bool)
    ):
        assert torch.equal(g(z), grid_one)


def block_replace_by_hand(activations, v, g):
    """Herdt and Maass's grid replace, written as their loops: a g x g block of v every g + 1
    positions, starting at 0, while the start is below H - g (W - g)."""
    out = activations.clone()
    _, height, width = out.shape
    h = 0
    while h < height - g:
        w = 0
        while w < width - g:
            out[:, h : h + g, w : w + g] = v[:, None, None]
            w += g + 1
        h += g + 1
    return out


@pytest.mark.parametrize("size", [(8, 8), (9, 7), (16, 16), (5, 12)])
@pytest.mark.parametrize("block", [1, 2, 3])
def test_block_grid_replace_equals_the_paper_s_loops_on_a_random_tensor(size, block):
    h, w = size  # every size fits every block
    activations, v = torch.randn(6, h, w), torch.randn(6)
    mask = grid_mask(h, w, block)
    expected = block_replace_by_hand(activations, v, block)
    assert torch.equal(torch.where(mask, v[:, None, None].expand(6, h, w), activations), expected)


def test_block_size_one_is_the_lattice_of_spacing_two_and_the_counts_on_8x8():
    ys, xs = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    assert torch.equal(grid_mask(8, 8, 1), (ys % 2 == 0) & (xs % 2 == 0))
    # written positions on an 8 x 8 layer for blocks of 1 / 2 / 3: 16 / 16 / 36, more as g grows
    assert [int(grid_mask(8, 8, b).sum()) for b in (1, 2, 3)] == [16, 16, 36]
    assert grid_mask(8, 8, 2)[:3, :3].tolist() == [[True, True, False], [True, True, False], [False] * 3]


def test_full_replace_with_a_constant_layers_own_vector_reproduces_the_image(g):
    bank = collect(g, "const", n=3, seed=5)
    assert len(bank) == 3 * 4 * 4 and bank.index[17].tolist() == [1, 0, 1]
    for i in (0, 1, 2):
        vector = bank.vector(i * 16 + 7)  # latent i, position (1, 3): the layer is the same everywhere
        original = g.sample(3, seed=5)[i]
        values, everywhere = tiled(vector, bank.layer, 0)
        with writing(module_at(g.net, bank.layer), values, everywhere):
            torch.testing.assert_close(g(g.latents(3, seed=5))[i], original)


def test_painting_changes_the_region_and_nothing_beyond_g_s_receptive_field(g):
    bank = collect(g, "conv1", n=4, seed=0)
    labels = torch.zeros(4, 4, dtype=torch.long)
    labels[0, 0] = 1  # paint conv1's top-left cell only
    strokes = {"#000000": None, "#ffffff": Stroke(bank.vector(40) * 5, 0)}
    base, image = paint(g, bank, labels, ["#000000", "#ffffff"], strokes, base_seed=2)
    changed = (image - base).abs().amax(0) > 0
    assert changed[:3, :3].any()  # cell (0, 0) reaches output rows and columns 0..2
    assert not changed[3:, :].any() and not changed[:, 3:].any()


def test_painting_errors_are_one_line(g):
    bank = collect(g, "conv1", n=1, seed=0)
    with pytest.raises(InspectError, match=r"1 map colours are not in the palette \(#ff0000; palette"):
        paint(g, bank, torch.zeros(4, 4, dtype=torch.long), ["#ff0000"], {"#000000": None})
    with pytest.raises(InspectError, match=r"vector id 16 is out of range: this bank holds ids 0 to 15"):
        bank.vector(16)
    for bad in (-1, 4):
        with pytest.raises(
            InspectError,
            match=rf"grid size {bad} is invalid: must be 0 \(full replace\) or a block size from 1 to 3",
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

    from mmagan.plots import save_gif

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
def digits_ckpt(trained_digits_run, tmp_path_factory):
    """The shared digits run's checkpoint, and a folder for this module's outputs."""
    return trained_digits_run / "checkpoints" / "last.ckpt", tmp_path_factory.mktemp("inspect")


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
    assert Image.open(tmp / "i.gif").format == "GIF"
    import json

    ranking = json.loads((tmp / "g.json").read_text())
    scores = [r["tileability"] for r in ranking["ranking"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert all(-1 <= x <= 1 for x in scores) and ranking["extractor"].startswith("d ")
    assert Image.open(tmp / "g.png").size[0] > Image.open(tmp / "g.png").size[1]  # 6 columns, 3 rows


def test_interpolation_frames_meet_once_at_each_joint():
    from mmagan.inspect.paths import latent_path

    ends = [torch.randn(8, generator=torch.Generator().manual_seed(s)) for s in range(3)]
    path = latent_path(ends, 6)
    assert len(path) == 11  # (6 - 1) * 2 + 1
    assert (frame_distances(path) > 0).all()  # no repeated frame, so no zero in the smoothness plot
    torch.testing.assert_close(path[5], ends[1])


def test_neighbours_command_finds_training_images_at_distance_zero(digits_ckpt, monkeypatch):
    """Queries that are training images (in G's range) come back first, at distance 0, and
    different queries have different neighbours."""
    import json

    from omegaconf import OmegaConf

    from mmagan.data import build_datamodule
    from mmagan.inspect.cli import inspect_main
    from mmagan.inspect.neighbours import to_unit
    from mmagan.runs.checkpoints import load_generator

    ckpt, tmp = digits_ckpt
    dm = build_datamodule(OmegaConf.create(load_generator(ckpt).config).data, batches_per_step=1)
    dm.prepare_data()
    dm.setup("fit")
    chosen = [5, 60, 123]
    queries = to_unit(dm.train_set.__getitems__(chosen))
    monkeypatch.setattr(Sampler, "sample", lambda self, n, seed=0: queries[:n])
    inspect_main(["neighbours", str(ckpt), "--samples", "3", "--k", "2", "--out", str(tmp / "nn.png")])
    found = json.loads((tmp / "nn.json").read_text())
    assert [row[0] for row in found["neighbours"]] == chosen
    assert [row[0] for row in found["distances"]] == [0.0, 0.0, 0.0]
    assert all(row[1] > 0 for row in found["distances"])


def test_layers_show_module_types_and_g_s_output_is_refused(digits_ckpt, capsys, caplog):
    from mmagan.inspect.cli import inspect_main

    ckpt, tmp = digits_ckpt
    inspect_main(["layers", str(ckpt)])
    listing = capsys.readouterr().out.splitlines()
    assert any("main.5" in line and "ReLU" in line for line in listing)
    tanh = next(line.split() for line in listing if "Tanh" in line)
    with pytest.raises(SystemExit) as e:
        inspect_main(["vectors", str(ckpt), "--layer", tanh[1], "--out", str(tmp / "x.pt")])
    assert e.value.code == 2 and "is G's output (the image itself): pick a hidden layer" in caplog.text


def test_palette_and_map_errors_and_snapping(g, tmp_path, caplog):
    import logging

    from PIL import Image

    from mmagan.inspect.paint import read_map, read_palette

    bank = collect(g, "conv1", n=1, seed=0)
    (tmp_path / "p.yaml").write_text("'#ff0000': 5\n")
    with pytest.raises(
        InspectError, match=r"palette #ff0000: 5 is invalid: give \{vector: <id>, grid: <g>\}"
    ):
        read_palette(tmp_path / "p.yaml", bank)
    (tmp_path / "p.yaml").write_text("'#ff0000': {vector: 1, grid: -2}\n")
    with pytest.raises(InspectError, match=r"grid -2 is invalid"):
        read_palette(tmp_path / "p.yaml", bank)
    # An anti-aliased edge: (250, 5, 5) and (10, 0, 0) next to pure red and black
    image = Image.new("RGB", (4, 4), (0, 0, 0))
    image.putpixel((0, 0), (255, 0, 0))
    image.putpixel((1, 0), (250, 5, 5))
    image.putpixel((2, 0), (10, 0, 0))
    image.putpixel((3, 0), (128, 128, 0))  # far from both: stays its own colour
    image.save(tmp_path / "m.png")
    _, colours = read_map(tmp_path / "m.png")
    assert len(colours) == 5
    with caplog.at_level(logging.INFO, logger="mmagan"):
        labels, colours = read_map(tmp_path / "m.png", ["#000000", "#ff0000"], snap=20)
    assert colours == ["#000000", "#808000", "#ff0000"]
    assert labels[0].tolist() == [2, 2, 0, 1]
    assert "2 of 16 map pixels snapped" in caplog.text


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


@pytest.mark.slow
def test_layer_sweep_scores_every_hidden_spatial_layer(digits_ckpt):
    import json

    from mmagan.inspect.cli import inspect_main
    from mmagan.inspect.layer_sweep import sweepable
    from mmagan.inspect.layers import list_layers
    from mmagan.runs.checkpoints import load_generator

    ckpt, tmp = digits_ckpt
    inspect_main(["sweep", str(ckpt), "--latents", "2", "--vectors", "5", "--out", str(tmp / "sw.png")])
    found = json.loads((tmp / "sw.json").read_text())
    g = load_generator(ckpt)
    expected = [layer.path for layer in sweepable(list_layers(g.net, g.latent_dim))]
    assert [entry["path"] for entry in found["layers"]] == expected and expected
    assert all(not entry["kind"] == "Tanh" for entry in found["layers"])  # G's output is not swept
    assert all(-1 <= e["quartiles"][0] <= e["median"] <= e["quartiles"][1] <= 1 for e in found["layers"])
    assert len(list(tmp.glob("sw_*.png"))) == len(expected)


def test_inception_tileability_offline_is_the_metrics_one_line_error(
    digits_ckpt, tmp_path, monkeypatch, caplog
):
    import urllib.error

    from mmagan.inspect.cli import inspect_main

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def no_internet(*a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_internet)
    ckpt, tmp = digits_ckpt
    inspect_main(["vectors", str(ckpt), "--layer", "main.5", "--latents", "2", "--out", str(tmp / "v2.pt")])
    with pytest.raises(SystemExit) as e:
        inspect_main(["gallery", str(ckpt), "--vectors", str(tmp / "v2.pt"), "--ids", "1,2",
                      "--extractor", "inception", "--out", str(tmp / "gi.png")])  # fmt: skip
    assert e.value.code == 2
    assert (
        "weights-inception-2015-12-05-6726825d.pth" in caplog.text and "fidelity.weights_path" in caplog.text
    )


def test_image_table_shows_each_image_in_its_cell(tmp_path):
    """A white image in the left cell and a black one in the right: the right half of the figure is
    mostly black (the cell), the left half only has the thin dark lines of labels and frames."""
    import numpy as np
    from PIL import Image

    from mmagan.plots import image_table

    images = torch.stack([torch.ones(3, 16, 16), -torch.ones(3, 16, 16)])[None]  # (1 row, 2 cols)
    path = image_table(images, tmp_path / "t.png", ["row"], ["white", "black"])
    pixels = np.asarray(Image.open(path).convert("L")).astype(int)
    left, right = np.array_split(pixels, 2, axis=1)
    assert (right < 10).sum() > 10 * (left < 10).sum()
    middle = pixels.shape[0] // 2  # the cells' middle row: white across the left half, black on the right
    assert (left[middle] < 10).sum() <= 4 and (right[middle] < 10).sum() > right.shape[1] // 2


@pytest.mark.parametrize(
    "command",
    [["interpolate", "--seeds", "0,1"], ["neighbours"], ["sweep"], ["vectors", "--layer", "main.1"]],
)
def test_image_commands_refuse_a_generator_of_points_in_one_line(make_cfg, tmp_path, caplog, command):
    from mmagan.inspect.cli import inspect_main, paint_main
    from mmagan.train import train

    train(make_cfg("iterations=2", run_dir=tmp_path / "ring"))
    ckpt = str(tmp_path / "ring" / "checkpoints" / "last.ckpt")
    with pytest.raises(SystemExit) as exit_status:
        inspect_main([command[0], ckpt, *command[1:]])
    assert exit_status.value.code == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and f"mmagan-inspect {command[0]} works on image generators" in errors[0]
    assert "makes points of shape [2] (data 'ring')" in errors[0]
    with pytest.raises(SystemExit) as exit_status:
        paint_main(["--serve", ckpt])
    assert exit_status.value.code == 2
    inspect_main(["layers", ckpt])  # what a generator of points can be asked
