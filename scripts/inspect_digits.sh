#!/usr/bin/env bash
# Train MMA-GAN on single digits (data=digits: scikit-learn's bundled digits at 32 px, half-width
# DCGAN nets), then run every inspection command on its checkpoint. CPU only, no download; writes
# docs/inspect/*.png (shown in the README).
#   bash scripts/inspect_digits.sh [outputs/examples/digits_mmagan]
set -euo pipefail
run=${1:-outputs/examples/digits_mmagan}
out=docs/inspect
mkdir -p "$out"
if [ ! -f "$run/metrics.json" ] || ! grep -q '"finished": 1' "$run/metrics.json"; then
  mmagan-train data=digits net=dcgan net.g_width=32 net.d_width=32 model=mmagan iterations=4000 \
    trainer.val_check_interval=1000 callbacks.checkpoint.every_n_iterations=1000 \
    callbacks.sample_snapshots.every_n_iterations=1000 logger=csv callbacks.progress_bar.refresh_rate=0 \
    trainer.speed.threads=1 seed=0 paths.output_dir="$run"
fi
ckpt=$run/checkpoints/last.ckpt
mmagan-inspect layers "$ckpt"
mmagan-inspect sweep "$ckpt" --latents 8 --vectors 64 --out "$run/sweep/sweep.png"  # + a gallery per layer
cp "$run/sweep/sweep.png" "$out/sweep.png"
mmagan-inspect vectors "$ckpt" --layer main.5 --latents 32 --out "$run/vectors.pt"
mmagan-inspect gallery "$ckpt" --vectors "$run/vectors.pt" --random 300 --show 3 --out "$out/gallery.png"
mmagan-inspect interpolate "$ckpt" --seeds 0,1,2 --steps 6 --path spherical --out "$out/interpolation.png"
mmagan-inspect neighbours "$ckpt" --samples 6 --k 4 --out "$out/neighbours.png"
python - "$run" "$out/gallery.json" <<'PY'
import json, sys
from pathlib import Path
from PIL import Image, ImageDraw
run, ranking = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())["ranking"]
m = Image.new("RGB", (32, 32), "black")
ImageDraw.Draw(m).rectangle([4, 4, 15, 27], fill="red")
ImageDraw.Draw(m).rectangle([18, 10, 28, 20], fill="blue")
m.save(run / "map.png")
top, least = ranking[0]["id"], ranking[-1]["id"]  # the most tileable (a texture) and the least
(run / "palette.yaml").write_text(
    f"'#000000': keep\n'#ff0000': {{vector: {top}, grid: 0}}\n'#0000ff': {{vector: {least}, grid: 1}}\n"
)
PY
mmagan-paint "$ckpt" --vectors "$run/vectors.pt" --map "$run/map.png" --palette "$run/palette.yaml" \
  --base-seed 3 --out "$out/painted.png"
