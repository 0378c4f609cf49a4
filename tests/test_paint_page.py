"""The painting page (mmagan-paint --serve): its API through Starlette's test client, and one
stroke painted in a real browser (Debian's chromium, driven by playwright)."""

import io
import json
import socket
import threading
import time
import zipfile

import numpy as np
import pytest
import torch
from helpers import skip_unless_required
from PIL import Image

from mmagan.inspect.gallery import pixel_features
from mmagan.inspect.server import PaintSession, create_app
from mmagan.runs.checkpoints import load_discriminator, load_generator


@pytest.fixture(scope="module")
def trained(trained_digits_run, tmp_path_factory):
    """The suite's shared short MMA-GAN run on stacked digits (DCGAN nets, 32 px)."""
    return trained_digits_run / "checkpoints" / "last.ckpt", tmp_path_factory.mktemp("page")


@pytest.fixture(scope="module")
def session(trained):
    ckpt, _ = trained
    d, _ = load_discriminator(ckpt)
    return PaintSession(load_generator(ckpt), pixel_features, "pixels", discriminator=d, latents=4)


@pytest.fixture(scope="module")
def client(session):
    from starlette.testclient import TestClient

    return TestClient(create_app(session))


def png(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)), dtype=float)


def test_info_lists_the_paintable_layers_and_the_page_is_served(client):
    info = client.get("/api/info").json()
    assert info["image"] == [3, 32, 32] and info["heads"] == 8 and not info["style_based"]
    paths = [layer["path"] for layer in info["layers"]]
    assert "main.5" in paths and all(layer["kind"] != "Tanh" for layer in info["layers"])
    page = client.get("/")
    assert page.status_code == 200 and "/api/paint" in page.text


def test_a_stroke_changes_its_receptive_field_and_not_beyond(client, session):
    layer = session.layer("main.5")  # 16 channels at 8 x 8; each cell reaches about 4 x 4 pixels, +2 around
    _, h, w = layer.shape
    keep = [[-1] * w for _ in range(h)]
    base = png(client.post("/api/paint", json={"layer": "main.5", "seed": 3, "labels": keep}))
    labels = [row[:] for row in keep]
    labels[1][1] = 0  # one cell near the top-left corner
    body = {
        "layer": "main.5",
        "seed": 3,
        "labels": labels,
        "palette": {"0": {"vector": {"id": 40}, "block": 0}},
    }
    response = client.post("/api/paint", json=body)
    painted = png(response)
    changed = np.abs(painted - base) > 0
    assert changed[2:10, 2:10].any()  # the cell covers pixels 4..7
    assert not changed[16:, :].any() and not changed[:, 16:].any()
    heads = json.loads(response.headers["X-Heads"])
    assert len(heads) == 8 and all(0 <= v <= 1 for v in heads)
    # The same body again gives the same image: the model is held, nothing drifts between requests.
    assert np.array_equal(png(client.post("/api/paint", json=body)), painted)


def test_a_vector_picked_from_the_image_is_the_activation_there(client, session):
    picked = client.post("/api/vector", json={"layer": "main.5", "seed": 3, "px": 13, "py": 5}).json()[
        "vector"
    ]
    assert (picked["y"], picked["x"]) == (1, 3)  # 32 px over 8 cells: 4 px a cell
    layer = session.layer("main.5")
    seen = []
    module = session.sampler.net.get_submodule("main.5")
    handle = module.register_forward_hook(lambda m, i, o: seen.append(o))
    session.sampler(session.sampler.latents(1, 3))
    handle.remove()
    torch.testing.assert_close(session.vector(layer, picked), seen[0][0, :, 1, 3])


def test_the_gallery_is_ranked_by_tileability(client):
    data = client.get("/api/gallery", params={"layer": "main.5"}).json()
    scores = [v["tileability"] for v in data["vectors"]]
    assert scores == sorted(scores, reverse=True) and data["extractor"] == "pixels"
    assert all(v["full"].startswith("data:image/png;base64,") for v in data["vectors"])


@pytest.mark.parametrize(
    "body,message",
    [
        ({"layer": "main.99"}, "layer 'main.99' is not a paintable layer"),
        ({"layer": "main.12"}, "is not a paintable layer"),  # G's output
        (
            {"layer": "main.5", "labels": [[0]]},
            "labels of shape [1, 1] do not match layer main.5: give 8 rows of 8",
        ),
        ({"layer": "main.5", "palette": {"0": {"vector": {"id": 99999}}}}, "vector id 99999 is out of range"),
        ({"layer": "main.5", "palette": {"0": {"vector": {"id": 1}, "block": 9}}}, "block 9 is out of range"),
        ({"layer": "main.5", "seed": -4}, "seed -4 is out of range"),
        ({"layer": "main.5", "seed2": 1, "t": 3}, "t 3 is invalid"),
        ({"layer": "main.5", "palette": {"0": 7}}, "palette label 0: 7 is not"),
    ],
)
def test_bad_requests_are_400_with_a_message(client, body, message):
    response = client.post("/api/paint", json=body)
    assert response.status_code == 400 and message in response.json()["error"]


def test_malformed_and_oversized_bodies_are_refused(client):
    response = client.post("/api/paint", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400 and "not JSON" in response.json()["error"]
    response = client.post("/api/paint", content=b"[1, 2]")
    assert response.status_code == 400 and "JSON object" in response.json()["error"]
    response = client.post("/api/paint", content=b"0" * 2_000_001)
    assert response.status_code == 400 and "over the limit" in response.json()["error"]
    assert client.get("/api/gallery", params={"layer": "nope"}).status_code == 400


def test_export_is_repainted_exactly_by_mmagan_paint(client, trained, tmp_path, monkeypatch):
    from mmagan.inspect.cli import paint_main
    from mmagan.inspect.paint import paint, read_map, read_palette
    from mmagan.inspect.vectors import VectorBank

    ckpt, _ = trained
    labels = [[-1] * 8 for _ in range(8)]
    for y in range(2, 6):
        labels[y][2:6] = [0, 0, 1, 1]
    palette = {
        "0": {"vector": {"id": 7}, "block": 1},
        "1": {"vector": {"seed": 5, "y": 2, "x": 6}, "block": 0},
    }
    body = {"layer": "main.5", "seed": 11, "labels": labels, "palette": palette}
    response = client.post("/api/export", json=body)
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as z:
        z.extractall(tmp_path)
    assert "--base-seed 11" in (tmp_path / "command.txt").read_text()
    g = load_generator(ckpt)
    bank = VectorBank.load(tmp_path / "vectors.pt")
    strokes = read_palette(tmp_path / "palette.yaml", bank)
    label_map, colours = read_map(tmp_path / "map.png", list(strokes))
    _, again = paint(g, bank, label_map, colours, strokes, base_seed=11)
    exported = np.asarray(Image.open(tmp_path / "painted.png"), dtype=float)
    from mmagan.sampler import to_uint8

    assert np.array_equal(to_uint8(again[None])[0].permute(1, 2, 0).numpy().astype(float), exported)
    command = (tmp_path / "command.txt").read_text().split()
    assert command[:2] == ["mmagan-paint", "CHECKPOINT"]
    command[1] = str(ckpt)  # the export's own command, run from its folder
    monkeypatch.chdir(tmp_path)
    paint_main(command[1:])
    again_file = np.asarray(Image.open(tmp_path / "painted_again.png"), dtype=float)
    assert np.array_equal(again_file, exported)  # the round trip anyone can check
    assert Image.open(tmp_path / "painted_again_figure.png").size != Image.open(tmp_path / "painted.png").size
    response = client.post("/api/export", json={**body, "seed2": 3})
    assert response.status_code == 400 and "set seed2 to null" in response.json()["error"]


# ------------------------------------------------------------------------------ a real browser
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(session):
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(session), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=5)


def _browser(playwright):
    import shutil

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        skip_unless_required(
            "browser", "no chromium on this machine (Debian: apt-get install chromium); .ci/run installs it"
        )
    try:
        return playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        )  # fmt: skip
    except Exception as e:  # noqa: BLE001 - any reason the browser cannot start: say it and skip
        skip_unless_required("browser", f"chromium did not start: {str(e).splitlines()[0]}")


@pytest.mark.slow
def test_a_stroke_in_the_browser_changes_the_image_inside_its_reach_only(served, tmp_path):
    try:
        from playwright import sync_api
    except ImportError:
        skip_unless_required("browser", "playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page()
        page.goto(served)
        page.wait_for_selector(".vec", timeout=60_000)  # the gallery has been ranked
        page.select_option("#layer", "main.5")
        page.wait_for_function("document.querySelector('#image').dataset.painted >= 2", timeout=60_000)
        page.wait_for_selector(".vec", timeout=60_000)

        def pixels():
            data = page.evaluate(
                "() => { const c = document.querySelector('#image');"
                " return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }"
            )
            return np.asarray(data, dtype=float).reshape(32 * 12, 32 * 12, 4)[::12, ::12, :3]

        before = pixels()
        painted_before = int(page.evaluate("document.querySelector('#image').dataset.painted"))
        page.select_option("#block", "0")
        page.click(".vec >> nth=0")
        box = page.locator("#overlay").bounding_box()
        cell = box["width"] / 8  # main.5 is 8 x 8 cells: paint cell (1, 1)
        page.mouse.move(box["x"] + 1.5 * cell, box["y"] + 1.5 * cell)
        page.mouse.down()
        page.mouse.up()
        page.wait_for_function(
            f"Number(document.querySelector('#image').dataset.painted) > {painted_before}", timeout=30_000
        )
        after = pixels()
        page.screenshot(path=str(tmp_path / "page.png"))
        browser.close()
    changed = (np.abs(after - before) > 0).any(axis=2)  # any of R, G, B
    assert changed[2:10, 2:10].any()
    assert not changed[16:, :].any() and not changed[:, 16:].any()


def test_the_interpolation_slider_ends_at_each_seed(session):
    """t = 0 is the first seed's latent, t = 1 the second's, t = 0.5 on the great circle between."""
    from mmagan.latent_paths import slerp_rows

    a, b = session.sampler.latents(1, 3), session.sampler.latents(1, 5)
    torch.testing.assert_close(session.latent({"seed": 3, "seed2": 5, "t": 0.0}), a)
    torch.testing.assert_close(session.latent({"seed": 3, "seed2": 5, "t": 1.0}), b)
    middle = session.latent({"seed": 3, "seed2": 5, "t": 0.5})
    torch.testing.assert_close(middle, slerp_rows(a, b, torch.tensor([[0.5]])))
    assert not torch.allclose(middle, a) and not torch.allclose(middle, b)


# ------------------------------------------------------------------------------ generated input
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ROUTES = ["/api/paint", "/api/vector", "/api/export"]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=50)
    | st.just("x" * 100_000)
)
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
KEYS = [
    "layer",
    "seed",
    "seed2",
    "t",
    "psi",
    "labels",
    "palette",
    "px",
    "py",
    "id",
    "y",
    "x",
    "vector",
    "block",
]
# Bodies with the page's own keys, each holding anything: these reach past the first checks.
PAGE_LIKE = st.fixed_dictionaries(
    {}, optional={k: ANY_JSON | st.sampled_from(["main.5", "main.2", 3, 0.5, -1]) for k in KEYS}
)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def lenient(session):
    """A client that returns the server's 500s instead of raising them: the tests count them."""
    from starlette.testclient import TestClient

    return TestClient(create_app(session), raise_server_exceptions=False)


def _still_answers(client) -> None:
    keep = [[-1] * 8 for _ in range(8)]
    assert client.post("/api/paint", json={"layer": "main.5", "seed": 1, "labels": keep}).status_code == 200


@FUZZ
@given(route=st.sampled_from(ROUTES), body=ANY_JSON | PAGE_LIKE)
def test_arbitrary_json_never_gets_a_server_error(lenient, route, body):
    import json as json_module

    content = json_module.dumps(body, allow_nan=True).encode()  # NaN and Infinity reach the parser
    response = lenient.post(route, content=content, headers={"content-type": "application/json"})
    assert response.status_code < 500, (route, body, response.text[:500])
    if response.status_code == 400:
        assert response.json()["error"]


@FUZZ
@given(
    route=st.sampled_from(ROUTES + ["/api/gallery", "/api/info"]),
    content=st.binary(max_size=300) | st.just(b"{" * 5000 + b"}" * 5000) | st.just(b"[" * 100_000),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "multipart/form-data; boundary=x", "", "x/y"]
    ),
    query=st.dictionaries(st.sampled_from(["layer", "x"]), st.text(max_size=30), max_size=2),
)
def test_bytes_content_types_and_queries_never_get_a_server_error(
    lenient, route, content, content_type, query
):
    headers = {"content-type": content_type} if content_type else {}
    if route in ("/api/gallery", "/api/info"):
        response = lenient.get(route, params=query)
    else:
        response = lenient.post(route, content=content, headers=headers, params=query)
    assert response.status_code < 500, (route, content[:80], response.text[:500])


def test_the_page_answers_a_good_request_after_the_fuzzing_and_under_concurrency(lenient, served):
    import concurrent.futures

    import httpx

    _still_answers(lenient)
    keep = [[-1] * 8 for _ in range(8)]
    good = {"layer": "main.5", "seed": 2, "labels": keep}
    bad = [
        b"{",
        b"[" * 100_000,
        json.dumps({"layer": "main.5", "seed": float("nan")}, allow_nan=True).encode(),
    ]

    def call(i: int) -> int:
        with httpx.Client(base_url=served, timeout=60) as c:
            if i % 2:
                return c.post("/api/paint", json=good).status_code
            return c.post(
                "/api/paint", content=bad[i % 3], headers={"content-type": "application/json"}
            ).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(call, range(24)))
    assert all(c < 500 for c in codes) and codes[1::2] == [200] * 12
    with httpx.Client(base_url=served, timeout=60) as c:
        assert c.post("/api/paint", json=good).status_code == 200
