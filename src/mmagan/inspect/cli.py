"""mmagan-inspect and mmagan-paint: every command takes a checkpoint (or an exported generator).

mmagan-inspect layers CKPT
mmagan-inspect vectors CKPT --layer main.5 --latents 64 [--seed 0] --out vectors.pt
mmagan-inspect gallery CKPT --vectors vectors.pt [--clusters 8 | --random 300 | --ids 3,17] [--show 4]
               [--grids 1,2,3] [--extractor auto|d|inception|pixels] [--base-seed 0] --out gallery.png
mmagan-inspect sweep CKPT [--latents 8] [--vectors 64] [--extractor auto|d|inception|pixels] --out sweep.png
mmagan-inspect interpolate CKPT --seeds 0,1 [--steps 10] [--path spherical] --out interp.png
mmagan-inspect neighbours CKPT [--samples 8] [--k 4] --out neighbours.png
mmagan-inspect style-mixing CKPT [--seed 0] [--psi 1] --out style_mixing.png     (net=stylegan)
mmagan-inspect truncation CKPT [--seed 0] --out truncation.png                   (net=stylegan)
mmagan-inspect noise CKPT [--seed 0] --out noise.png                             (net=stylegan)
mmagan-paint CKPT --layer main.5 --map map.png --palette palette.yaml [--grid 2] [--snap 40] --out painted.png
             [--image painted_alone.png]
mmagan-paint --serve CKPT [--port 8765]                                          (the painting page)
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from PIL import Image
from torch import Tensor

from mmagan.errors import CheckpointError, exit_on_user_error
from mmagan.inspect.gallery import (
    EXTRACTORS,
    GRIDS,
    TILEABILITY_GRID,
    d_features,
    gallery_images,
    inception_features,
    pixel_features,
    tileability,
)
from mmagan.inspect.layers import InspectError, list_layers, require_file
from mmagan.inspect.neighbours import nearest, to_unit
from mmagan.inspect.paint import paint, read_map, read_palette
from mmagan.inspect.paths import PATHS, frame_distances, latent_path
from mmagan.inspect.style import draw_noise, draw_style_mixing, draw_truncation
from mmagan.inspect.vectors import VectorBank, collect
from mmagan.plots import image_table, line_plot, png_bytes, save_gif
from mmagan.runs.checkpoints import load_discriminator, load_generator
from mmagan.runs.files import atomic_write, write_json
from mmagan.sampler import Sampler

log = logging.getLogger("mmagan")


def has_sigmoid_heads(g: Sampler) -> bool:
    """Whether the run's objective declares D's outputs as sigmoid heads worth showing."""
    from mmagan.objectives import OBJECTIVES

    objective = OBJECTIVES.get(str(g.config.get("model", {}).get("objective", {}).get("name")))
    return objective is not None and objective.sigmoid_heads


def head_activations(ckpt: Path, g: Sampler, images: Tensor) -> Tensor | None:
    """(N, K) sigmoid activations of D's heads for training checkpoints of an objective with
    sigmoid heads (MMA-GAN's); None otherwise."""
    if not has_sigmoid_heads(g):
        return None
    try:
        d, objective = load_discriminator(ckpt)
    except CheckpointError:  # an exported generator carries no discriminator
        return None
    with torch.no_grad():
        return torch.sigmoid(d(objective.pack(images.reshape(-1, *images.shape[-3:])))).reshape(
            *images.shape[:-3], -1
        )


def cmd_layers(args, g: Sampler) -> None:
    for layer in list_layers(g.net, g.latent_dim):
        print(f"{layer.index:>3}  {layer.path:<24} {layer.kind:<20} {tuple(layer.shape)}")


def cmd_vectors(args, g: Sampler) -> None:
    bank = collect(g, args.layer, args.latents, args.seed)
    bank.save(args.out)
    log.info("%d vectors of layer %s %s -> %s", len(bank), bank.layer.path, bank.layer.shape, args.out)


def feature_extractor(args, g: Sampler):
    """The --extractor's features and its name; `auto`: the run's own D where the checkpoint has
    one, else pixels."""
    name = args.extractor
    if name in ("auto", "d"):
        try:
            d, objective = load_discriminator(args.checkpoint)
            return d_features(d, objective.packing), "d (the run's discriminator, before its heads)"
        except CheckpointError as e:
            if name == "d":
                raise InspectError(
                    f"--extractor d: {args.checkpoint} is an exported generator without D; use pixels"
                ) from e
            name = "pixels"
    if name == "inception":
        return inception_features(args.inception_weights), "inception (torch-fidelity pool features)"
    return pixel_features, "pixels"


def candidate_ids(args, bank: VectorBank) -> list[int]:
    if args.ids:
        ids = [int(i) for i in args.ids.split(",")]
        for i in ids:
            bank.vector(i)  # an id out of range is one line
        return ids
    if args.random:
        if not 1 <= args.random <= len(bank):
            raise InspectError(f"--random {args.random} is invalid: the bank holds {len(bank)} vectors")
        return torch.randperm(len(bank), generator=torch.Generator().manual_seed(args.seed))[
            : args.random
        ].tolist()
    return [int((bank.vectors == v).all(1).nonzero()[0]) for v in bank.cluster_centres(args.clusters)]


def cmd_gallery(args, g: Sampler) -> None:
    bank = VectorBank.load(args.vectors)
    grids = tuple(int(x) for x in args.grids.split(","))
    ids = candidate_ids(args, bank)
    features, extractor = feature_extractor(args, g)
    scores = tileability(g, bank, ids, features)
    order = scores.argsort(descending=True).tolist()
    shown = order if len(order) <= 2 * args.show else order[: args.show] + order[-args.show :]
    images = gallery_images(g, bank, [ids[i] for i in shown], args.base_seed, grids)
    labels = []
    for i in shown:
        mark = " (most tileable)" if i == order[0] else " (least tileable)" if i == order[-1] else ""
        labels.append(f"id {ids[i]}: {scores[i]:.2f}{mark}")
    title = (
        f"layer {bank.layer.path} ({bank.layer.kind}): each vector written everywhere (full) or in g x g "
        f"blocks with one-cell gaps of G's own activations\ntileability = cos(block {TILEABILITY_GRID}, "
        f"full) in {extractor} features; {len(ids)} vectors ranked, the most and least tileable shown"
    )
    columns = ["source (patch marked)", "base", "full"] + [f"block {k}" for k in grids]
    image_table(images, Path(args.out), labels, columns, title)
    ranking = [{"id": ids[i], "tileability": float(scores[i])} for i in order]
    write_json(
        Path(args.out).with_suffix(".json"),
        {"extractor": extractor, "layer": bank.layer.path, "ranking": ranking},
    )
    log.info("gallery -> %s (ranking by %s in %s)", args.out, extractor, Path(args.out).with_suffix(".json"))


def cmd_sweep(args, g: Sampler) -> None:
    from mmagan.inspect.layer_sweep import distribution_figure, layer_galleries, summary, sweep

    features, extractor = feature_extractor(args, g)
    results = sweep(g, features, args.latents, args.vectors, args.seed)
    if not results:
        raise InspectError("this generator has no hidden spatial layer large enough for block grid replace")
    out = Path(args.out)
    distribution_figure(results, out, extractor)
    galleries = layer_galleries(g, results, out, args.base_seed)
    write_json(out.with_suffix(".json"), summary(results, extractor))
    log.info("layer sweep -> %s, %d layer galleries, %s", out, len(galleries), out.with_suffix(".json"))


def cmd_interpolate(args, g: Sampler) -> None:
    seeds = [int(s) for s in args.seeds.split(",")]
    if len(seeds) < 2 or args.steps < 2:
        raise InspectError(
            f"--seeds {args.seeds} --steps {args.steps}: a path needs two seeds or more and 2 steps or more"
        )
    ends = [g.latents(1, seed=s)[0] for s in seeds]
    path = latent_path(ends, args.steps, args.path)
    frames = g(path)
    out = Path(args.out)
    heads = head_activations(Path(args.checkpoint), g, frames)
    image_table(
        frames[None],
        out,
        [args.path],
        [str(i) for i in range(len(frames))],
        f"latent {args.path} path through seeds {seeds}",
        heads[None] if heads is not None else None,
    )
    save_gif(frames, out.with_suffix(".gif"))
    line_plot(
        frame_distances(frames),
        out.with_name(out.stem + "_smoothness.png"),
        "mean |pixel change|",
        "distance between neighbouring frames (pixels)",
    )
    log.info("interpolation -> %s, .gif and _smoothness.png", out)


def cmd_neighbours(args, g: Sampler) -> None:
    from mmagan.data import training_data

    samples = g.sample(args.samples, seed=args.seed)
    train = training_data(OmegaConf.create(g.config).data).train_set
    # Samples are G's [-1, 1] output already; only the stored training images need converting.
    distances, idx = nearest(samples, train, k=args.k, features=lambda x: to_unit(x).flatten(1))
    rows = [torch.cat([s[None], to_unit(train.__getitems__(i.tolist()))]) for s, i in zip(samples, idx)]
    image_table(
        torch.stack(rows),
        Path(args.out),
        [f"sample {i}" for i in range(len(rows))],
        ["generated"] + [f"#{j + 1} nearest" for j in range(args.k)],
        "nearest training images (pixels)",
    )
    write_json(
        Path(args.out).with_suffix(".json"),
        {"neighbours": idx.tolist(), "distances": distances.tolist(), "feature_space": "pixels in [-1, 1]"},
    )
    log.info("nearest neighbours -> %s (indices in %s)", args.out, Path(args.out).with_suffix(".json"))


def cmd_paint(args, g: Sampler) -> None:
    bank = VectorBank.load(args.vectors) if args.vectors else collect(g, args.layer, args.latents, 0)
    if args.layer is not None and str(args.layer) not in (bank.layer.path, str(bank.layer.index)):
        raise InspectError(f"--vectors were collected at layer {bank.layer.path}, not {args.layer}")
    require_file(args.map, "--map")
    strokes = read_palette(args.palette, bank, args.clusters)
    labels, colours = read_map(args.map, list(strokes), args.snap)
    if args.grid is not None:
        strokes = {c: (s if s is None else type(s)(s.vector, args.grid)) for c, s in strokes.items()}
    base, image = paint(g, bank, labels, colours, strokes, args.base_seed)
    if args.image:
        atomic_write(Path(args.image), lambda tmp: Path(tmp).write_bytes(png_bytes(image)))
        log.info("painted image alone -> %s", args.image)
    rgb = torch.from_numpy(np.array(Image.open(args.map).convert("RGB"))).permute(2, 0, 1)[None].float()
    map_image = F.interpolate(rgb, size=base.shape[-2:], mode="nearest")[0] / 127.5 - 1
    heads = head_activations(Path(args.checkpoint), g, torch.stack([base, base, image]))
    if heads is not None:  # D judges images, not the colour map: no bars under it
        heads[1] = float("nan")
    if base.shape[0] == 1:  # grayscale images shown in RGB, so that the map keeps its colours
        base, image = base.expand(3, -1, -1), image.expand(3, -1, -1)
    images = torch.stack([base, map_image[: base.shape[0]], image])[None]
    image_table(
        images,
        Path(args.out),
        [f"layer {bank.layer.path}"],
        ["base", "map", "painted"],
        "painting: the map's colours written into the layer",
        heads[None] if heads is not None else None,
    )
    log.info("painted -> %s", args.out)


def cmd_style_mixing(args, g: Sampler) -> None:
    log.info("style mixing -> %s", draw_style_mixing(g, Path(args.out), args.seed, args.psi))


def cmd_truncation(args, g: Sampler) -> None:
    log.info("truncation strip -> %s", draw_truncation(g, Path(args.out), args.seed))


def cmd_noise(args, g: Sampler) -> None:
    log.info("noise variation -> %s", draw_noise(g, Path(args.out), args.seed))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a training checkpoint (.ckpt) or an exported generator")
    p.add_argument("--no-ema", action="store_true", help="G's own weights instead of its EMA")


def _tileability(p: argparse.ArgumentParser) -> None:
    """The options of the commands that rank vectors by tileability (gallery, sweep)."""
    p.add_argument(
        "--extractor",
        choices=["auto", *EXTRACTORS],
        default="auto",
        help="features for tileability; auto: d for training checkpoints, pixels for exported generators",
    )
    p.add_argument("--inception-weights", default=None, help="path of the Inception weights (offline)")
    p.add_argument("--base-seed", type=int, default=0, help="seed of the base image the vectors are shown in")


def inspect_main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mmagan-inspect", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("layers", help="G's layers with their output shapes")
    _common(p)
    p = sub.add_parser("vectors", help="collect a layer's activation vectors into one file")
    _common(p)
    p.add_argument("--layer", required=True, help="module path or index (see `layers`)")
    p.add_argument(
        "--latents", type=int, default=64, help="latents whose forward passes the vectors are collected from"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the latents")
    p.add_argument("--out", default="vectors.pt", help="the file to write")
    p = sub.add_parser(
        "gallery", help="vectors made visible by full and block grid replace, ranked by tileability"
    )
    _common(p)
    p.add_argument("--vectors", required=True, help="a file from `mmagan-inspect vectors`")
    p.add_argument("--clusters", type=int, default=8, help="rank this many k-means representatives")
    p.add_argument("--random", type=int, default=0, help="rank this many random vectors instead (e.g. 300)")
    p.add_argument("--ids", default=None, help="comma-separated vector ids instead of cluster centres")
    p.add_argument("--seed", type=int, default=0, help="seed of --random")
    p.add_argument("--show", type=int, default=4, help="rows: the N most and N least tileable")
    p.add_argument("--grids", default=",".join(map(str, GRIDS)), help="block sizes of the columns")
    _tileability(p)
    p.add_argument("--out", default="gallery.png", help="the file to write")
    p = sub.add_parser("sweep", help="tileability at every spatial layer of G, and a gallery per layer")
    _common(p)
    p.add_argument(
        "--latents", type=int, default=8, help="forward passes to collect each layer's vectors from"
    )
    p.add_argument("--vectors", type=int, default=64, help="random vectors scored per layer")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents")
    _tileability(p)
    p.add_argument("--out", default="sweep.png", help="the file to write")
    p = sub.add_parser("interpolate", help="images along latent paths, a GIF and a smoothness plot")
    _common(p)
    p.add_argument(
        "--seeds", default="0,1", help="comma-separated seeds of the latents the path goes through"
    )
    p.add_argument("--steps", type=int, default=10, help="images along each stretch of the path")
    p.add_argument(
        "--path", choices=sorted(PATHS), default="spherical", help="how the path goes between latents"
    )
    p.add_argument("--out", default="interpolation.png", help="the file to write")
    p = sub.add_parser("neighbours", help="samples beside their nearest training images")
    _common(p)
    p.add_argument("--samples", type=int, default=8, help="generated samples, one row each")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents")
    p.add_argument("--k", type=int, default=4, help="nearest training images per sample")
    p.add_argument("--out", default="neighbours.png", help="the file to write")
    p = sub.add_parser("style-mixing", help="StyleGAN: coarse, middle and fine styles of B in A's images")
    _common(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the latents")
    p.add_argument("--psi", type=float, default=1.0, help="truncation of both sources' w")
    p.add_argument("--out", default="style_mixing.png", help="the file to write")
    p = sub.add_parser("truncation", help="StyleGAN: images as psi goes from -1 to 1")
    _common(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the latents")
    p.add_argument("--out", default="truncation.png", help="the file to write")
    p = sub.add_parser("noise", help="StyleGAN: one w under several noise draws, and their std per pixel")
    _common(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the latents")
    p.add_argument("--out", default="noise.png", help="the file to write")
    args = parser.parse_args(argv)
    run(
        {
            "layers": cmd_layers,
            "vectors": cmd_vectors,
            "gallery": cmd_gallery,
            "sweep": cmd_sweep,
            "interpolate": cmd_interpolate,
            "neighbours": cmd_neighbours,
            "style-mixing": cmd_style_mixing,
            "truncation": cmd_truncation,
            "noise": cmd_noise,
        }[args.command],
        args,
        f"mmagan-inspect {args.command}",
    )


def paint_main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="mmagan-paint", description="Paint activation vectors into a layer of G."
    )
    _common(parser)
    parser.add_argument("--layer", default=None, help="module path or index (default: that of --vectors)")
    parser.add_argument("--map", default=None, help="a PNG whose colours are labels")
    parser.add_argument(
        "--palette",
        default=None,
        help="YAML: '#rrggbb': {vector: id | cluster: k, grid: g} or keep; g: 0 full, 1.. block size",
    )
    parser.add_argument(
        "--vectors", default=None, help="a file from `mmagan-inspect vectors` (default: collect now)"
    )
    parser.add_argument(
        "--latents", type=int, default=32, help="latents to collect vectors from without --vectors"
    )
    parser.add_argument(
        "--clusters",
        type=int,
        default=8,
        help="k-means clusters of the vectors, for palette entries that name a cluster",
    )
    parser.add_argument(
        "--grid", type=int, default=None, help="one grid size for every colour (0: full, 1..: block size)"
    )
    parser.add_argument(
        "--snap",
        type=float,
        default=0.0,
        help="map colours within this RGB distance of a palette colour count as it (anti-aliased maps)",
    )
    parser.add_argument(
        "--base-seed", type=int, default=0, help="seed of the base image the vectors are shown in"
    )
    parser.add_argument(
        "--out", default="painted.png", help="the figure to write: base, map and painted image side by side"
    )
    parser.add_argument(
        "--image", default=None, help="also write the painted image alone, as the page's export has it"
    )
    parser.add_argument("--serve", action="store_true", help="start the painting page instead")
    parser.add_argument("--port", type=int, default=8765, help="the page's port (with --serve)")
    parser.add_argument("--host", default="127.0.0.1", help="the page's address (with --serve)")
    parser.add_argument(
        "--extractor", choices=["auto", *EXTRACTORS], default="auto", help="tileability features (--serve)"
    )
    parser.add_argument("--inception-weights", default=None, help="path of the Inception weights (offline)")
    args = parser.parse_args(argv)
    if args.serve:
        run(cmd_serve, args, "mmagan-paint --serve")
        return
    if args.map is None or args.palette is None:
        parser.error("give --map and --palette (or --serve for the painting page)")
    if args.vectors is None and args.layer is None:
        parser.error("give --layer (or --vectors from `mmagan-inspect vectors`)")
    run(cmd_paint, args, "mmagan-paint")


def paint_session(args, g: Sampler):
    """The painting page's session: G, D's heads where the checkpoint has them, the extractor."""
    from mmagan.inspect.server import PaintSession

    features, extractor = feature_extractor(args, g)
    d = None
    if has_sigmoid_heads(g):
        try:
            d, _ = load_discriminator(args.checkpoint)
        except CheckpointError:
            d = None
    return PaintSession(g, features, extractor, discriminator=d, latents=args.latents)


def cmd_serve(args, g: Sampler) -> None:
    import uvicorn

    from mmagan.inspect.server import create_app

    app = create_app(paint_session(args, g))
    log.info("painting page: http://%s:%d/ (Ctrl-C stops it)", args.host, args.port)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


# Commands that draw, paint or compare images: a generator of 2-D points (the ring, the grid) has
# no image to draw and no spatial layer to paint; `layers` works for every generator.
IMAGE_COMMANDS = {
    cmd_vectors,
    cmd_gallery,
    cmd_sweep,
    cmd_interpolate,
    cmd_neighbours,
    cmd_style_mixing,
    cmd_truncation,
    cmd_noise,
    cmd_paint,
    cmd_serve,
}


def run(command, args, name: str) -> None:
    """Load G and run `command`; a command that needs images refuses a 2-D generator first."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    def go() -> None:
        g = load_generator(args.checkpoint, ema=not args.no_ema)
        if len(g.sample_shape) != 3 and command in IMAGE_COMMANDS:
            raise InspectError(
                f"{name} works on image generators; {args.checkpoint} makes points of shape "
                f"{list(g.sample_shape)} (data {g.config['data']['name']!r}): its scatter plots are in the "
                "run's plots/ folder, and mmagan-inspect layers lists its layers"
            )
        command(args, g)

    exit_on_user_error(go)
