"""The painting page: `mmagan-paint --serve CKPT` holds G (and D, where the checkpoint has one) in
memory and answers a local page that paints activation vectors with brush strokes, in well under a
second per stroke on a CPU, where the command line takes a round trip per try.

Routes: `GET /` the page; `GET /api/info` G's paintable layers; `GET /api/gallery` a layer's vectors
ranked by tileability; `POST /api/paint` a label map and palette -> the painted PNG (D's head
activations in the `X-Heads` header); `POST /api/vector` the vector at a position of a generated
image; `POST /api/export` the files that `mmagan-paint` re-runs exactly. Every request is bounded and
checked: a bad layer, id, size or body is a 4xx with a one-line message, never a traceback.
"""

from __future__ import annotations

import base64
import io
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.colors import to_hex
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from torch import Tensor, nn

from mmagan.inspect.gallery import Features, tileability, visualize
from mmagan.inspect.layer_sweep import sweepable
from mmagan.inspect.layers import InspectError, Layer, list_layers, module_at
from mmagan.inspect.surgery import FULL, painted, writing
from mmagan.inspect.vectors import VectorBank, collect
from mmagan.latent_paths import slerp_rows
from mmagan.nets.stylegan import is_style_based
from mmagan.plots import png_bytes
from mmagan.sampler import Sampler

PAGE = Path(__file__).with_name("web") / "index.html"
MAX_BODY = 2_000_000  # bytes of one request: a 256 x 256 label map in JSON is well below
MAX_COLOURS = 32
MAX_SEED = 2**31 - 1


class BadRequest(Exception):
    """A request the page (or a user's script) got wrong: answered 400 with the message."""


@dataclass
class PaintSession:
    """What the page paints with, loaded once: G, D's heads, and per layer a bank of vectors and
    their tileability ranking (each made on first use)."""

    sampler: Sampler
    features: Features
    extractor: str
    discriminator: nn.Module | None = None
    latents: int = 16
    gallery_size: int = 24
    layers: list[Layer] = field(default_factory=list)
    banks: dict[str, VectorBank] = field(default_factory=dict)
    galleries: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.layers = sweepable(list_layers(self.sampler.net, self.sampler.latent_dim))

    # ----------------------------------------------------------------------------- checked inputs
    def layer(self, name) -> Layer:
        for layer in self.layers:
            if str(name) in (layer.path, str(layer.index)):
                return layer
        known = ", ".join(layer.path for layer in self.layers)
        raise BadRequest(f"layer {name!r} is not a paintable layer of this generator; paintable: {known}")

    def bank(self, layer: Layer) -> VectorBank:
        if layer.path not in self.banks:
            self.banks[layer.path] = collect(self.sampler, layer.path, self.latents, seed=0)
        return self.banks[layer.path]

    @torch.no_grad()
    def latent(self, body: dict) -> Tensor:
        seed = _int(body.get("seed", 0), "seed", 0, MAX_SEED)
        z = self.sampler.latents(1, seed)
        if body.get("seed2") is not None:
            seed2 = _int(body["seed2"], "seed2", 0, MAX_SEED)
            t = _number(body.get("t", 0.0), "t", 0.0, 1.0)
            t_ = torch.tensor([[t]], dtype=z.dtype, device=z.device)
            z = slerp_rows(z, self.sampler.latents(1, seed2), t_)
        return z

    def generate(self, z: Tensor, body: dict) -> Tensor:
        psi = body.get("psi")
        if psi is not None and is_style_based(self.sampler.net):
            return self.sampler(z, psi=_number(psi, "psi", -2.0, 2.0))
        return self.sampler(z)

    @torch.no_grad()
    def vector(self, layer: Layer, spec) -> Tensor:
        """A vector by bank id ({"id": i}) or by where it is in a generated image ({"seed", "seed2",
        "t", "y", "x"}, y and x in the layer's cells)."""
        if not isinstance(spec, dict):
            raise BadRequest(f"a vector is {{'id': i}} or {{'seed': s, 'y': y, 'x': x}}, not {spec!r}")
        if "id" in spec:
            bank = self.bank(layer)
            i = _int(spec["id"], "vector id", 0, len(bank) - 1)
            return bank.vector(i)
        _, h, w = layer.shape
        y, x = _int(spec.get("y"), "y", 0, h - 1), _int(spec.get("x"), "x", 0, w - 1)
        seen: list[Tensor] = []
        handle = module_at(self.sampler.net, layer).register_forward_hook(lambda m, i, o: seen.append(o))
        try:
            self.generate(self.latent(spec), spec)
        finally:
            handle.remove()
        return seen[0][0, :, y, x].detach().float().cpu()

    # ------------------------------------------------------------------------------------ answers
    @torch.no_grad()
    def gallery(self, layer: Layer) -> dict:
        if layer.path not in self.galleries:
            bank = self.bank(layer)
            g = torch.Generator().manual_seed(0)
            ids = torch.randperm(len(bank), generator=g)[: min(self.gallery_size, len(bank))].tolist()
            scores = tileability(self.sampler, bank, ids, self.features)
            n = int(bank.index[:, 0].max()) + 1
            latents = self.sampler.latents(n, seed=bank.seed)
            entries = []
            for i in scores.argsort(descending=True).tolist():
                vid = ids[i]
                source = bank.index[vid].tolist()
                full, block = visualize(
                    self.sampler, bank, bank.vector(vid), latents[source[0]][None], (FULL, 2)
                )
                entries.append(
                    {
                        "id": vid,
                        "source": source,
                        "tileability": round(float(scores[i]), 4),
                        "full": data_url(full),
                        "block": data_url(block),
                    }
                )
            self.galleries[layer.path] = {
                "layer": layer.path,
                "extractor": self.extractor,
                "vectors": entries,
            }
        return self.galleries[layer.path]

    @torch.no_grad()
    def paint(self, body: dict) -> tuple[Tensor, Tensor | None, Layer, Tensor, dict]:
        """(image, head activations, layer, label map, palette) for a paint request."""
        layer = self.layer(body.get("layer"))
        _, h, w = layer.shape
        labels = body.get("labels")
        if labels is not None:
            try:
                labels = torch.tensor(labels, dtype=torch.long)
            except (TypeError, ValueError, RuntimeError) as e:
                raise BadRequest("labels must be a list of rows of integers (-1: keep G's own)") from e
            if tuple(labels.shape) != (h, w):
                raise BadRequest(
                    f"labels of shape {list(labels.shape)} do not match layer {layer.path}: "
                    f"give {h} rows of {w}"
                )
        else:
            labels = torch.full((h, w), -1, dtype=torch.long)
        raw = body.get("palette") or {}
        if not isinstance(raw, dict) or len(raw) > MAX_COLOURS:
            raise BadRequest(f"palette must map up to {MAX_COLOURS} labels to {{'vector': ..., 'block': g}}")
        palette = {}
        for key, entry in raw.items():
            label = _int(key, "palette label", 0, MAX_COLOURS - 1)
            if not isinstance(entry, dict):
                raise BadRequest(f"palette label {label}: {entry!r} is not {{'vector': ..., 'block': g}}")
            block = _int(entry.get("block", FULL), f"palette label {label}: block", 0, min(h, w) - 1)
            palette[label] = (self.vector(layer, entry.get("vector")), block)
        z = self.latent(body)
        vectors, mask = painted(layer, labels, palette)
        with writing(module_at(self.sampler.net, layer), vectors, mask):
            image = self.generate(z, body)[0]
        return image, self.heads(image), layer, labels, palette

    @torch.no_grad()
    def heads(self, image: Tensor) -> Tensor | None:
        if self.discriminator is None:
            return None
        return torch.sigmoid(
            self.discriminator(image[None].to(next(self.discriminator.parameters()).device))
        )[0]


def _int(value, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BadRequest(f"{what} {value!r} is invalid: give an integer from {lo} to {hi}")
    try:
        v = int(value)
    except ValueError as e:
        raise BadRequest(f"{what} {value!r} is invalid: give an integer from {lo} to {hi}") from e
    if not lo <= v <= hi:
        raise BadRequest(f"{what} {v} is out of range: give an integer from {lo} to {hi}")
    return v


def _number(value, what: str, lo: float, hi: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not lo <= value <= hi
    ):
        raise BadRequest(f"{what} {value!r} is invalid: give a number from {lo:g} to {hi:g}")
    return float(value)


def data_url(image: Tensor) -> str:
    """PNG bytes as a data: URL the page can show directly."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode()


# The page's and the export's colours: label k is COLOURS[k]; black is G's own activations (keep).
COLOURS = [to_hex(c) for c in (*colormaps["tab20"].colors, *colormaps["tab20b"].colors[:12])]


def export_zip(session: PaintSession, body: dict) -> bytes:
    """painted.png, map.png (one colour per label at the layer's resolution), palette.yaml,
    vectors.pt (the palette's vectors) and command.txt: `mmagan-paint` with these files repaints
    the same image, pixel for pixel, into painted_again.png."""
    if body.get("seed2") is not None:
        raise BadRequest("export paints the base seed: set seed2 to null (mmagan-paint has no interpolation)")
    if body.get("psi") is not None:
        raise BadRequest("export uses the run's own truncation: set psi to null")
    image, _, layer, labels, palette = session.paint(body)
    order = sorted(palette)
    bank = VectorBank(
        layer,
        torch.stack([palette[k][0] for k in order]) if order else torch.zeros(0, layer.shape[0]),
        torch.tensor([[0, 0, 0]] * len(order), dtype=torch.long).reshape(-1, 3),
        0,
    )
    rgb = np.zeros((*labels.shape, 3), dtype=np.uint8)
    for k in order:
        rgb[(labels == k).numpy()] = [int(COLOURS[k][i : i + 2], 16) for i in (1, 3, 5)]
    map_png = io.BytesIO()
    Image.fromarray(rgb).save(map_png, format="PNG")
    lines = ["'#000000': keep"] + [
        f"'{COLOURS[k]}': {{vector: {n}, grid: {palette[k][1]}}}" for n, k in enumerate(order)
    ]
    seed = int(body.get("seed", 0))
    command = (
        f"mmagan-paint CHECKPOINT --vectors vectors.pt --map map.png --palette palette.yaml "
        f"--base-seed {seed} --image painted_again.png --out painted_again_figure.png"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("painted.png", png_bytes(image))
        z.writestr("map.png", map_png.getvalue())
        z.writestr("palette.yaml", "\n".join(lines) + "\n")
        buffer = io.BytesIO()
        torch.save(bank.state(), buffer)
        z.writestr("vectors.pt", buffer.getvalue())
        z.writestr("command.txt", command + "\n")
    return out.getvalue()


async def _json(request: Request) -> dict:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BadRequest(f"request body of {len(body)} bytes is over the limit of {MAX_BODY}")
    try:
        data = json.loads(body or b"{}")
    except json.JSONDecodeError as e:
        raise BadRequest(f"the body is not JSON ({e.msg} at character {e.pos})") from e
    except UnicodeDecodeError as e:
        raise BadRequest(f"the body is not UTF-8 text (byte {e.start}): send JSON") from e
    except RecursionError as e:
        raise BadRequest("the body's JSON is nested too deeply") from e
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def create_app(session: PaintSession) -> Starlette:
    """The painting page's Starlette app over one PaintSession."""

    def answer(handler):
        async def endpoint(request: Request):
            try:
                return await handler(request)
            except (BadRequest, InspectError) as e:
                return JSONResponse({"error": str(e)}, status_code=400)

        return endpoint

    async def index(request: Request):
        return FileResponse(PAGE, media_type="text/html")

    async def info(request: Request):
        g = session.sampler
        return JSONResponse(
            {
                "layers": [
                    {"index": x.index, "path": x.path, "kind": x.kind, "shape": list(x.shape)}
                    for x in session.layers
                ],
                "image": list(g.sample_shape),
                "heads": 0 if session.discriminator is None else int(session.heads(g.sample(1)[0]).numel()),
                "style_based": is_style_based(g.net),
                "extractor": session.extractor,
                "max_colours": MAX_COLOURS,
                "colours": COLOURS,
            }
        )

    async def gallery(request: Request):
        return JSONResponse(session.gallery(session.layer(request.query_params.get("layer"))))

    async def paint(request: Request):
        image, heads, *_ = session.paint(await _json(request))
        headers = {"X-Heads": json.dumps([round(float(v), 4) for v in heads]) if heads is not None else "[]"}
        return Response(png_bytes(image), media_type="image/png", headers=headers)

    async def vector(request: Request):
        body = await _json(request)
        layer = session.layer(body.get("layer"))
        _, h, w = layer.shape
        _, height, width = session.sampler.sample_shape
        px, py = _int(body.get("px"), "px", 0, width - 1), _int(body.get("py"), "py", 0, height - 1)
        spec = {**body, "y": py * h // height, "x": px * w // width}
        session.vector(layer, spec)  # checks it
        return JSONResponse({"vector": {k: spec.get(k) for k in ("seed", "seed2", "t", "psi", "y", "x")}})

    async def export(request: Request):
        data = export_zip(session, await _json(request))
        return Response(
            data,
            media_type="application/zip",
            headers={"Content-Disposition": "attachment; filename=painting.zip"},
        )

    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/info", answer(info)),
            Route("/api/gallery", answer(gallery)),
            Route("/api/paint", answer(paint), methods=["POST"]),
            Route("/api/vector", answer(vector), methods=["POST"]),
            Route("/api/export", answer(export), methods=["POST"]),
        ]
    )
