#!/usr/bin/env bash
# Train MMA-GAN on the offline stacked digits, then run every inspection command on its checkpoint.
# CPU only, no download; writes docs/inspect/*.png (shown in the README).
#   bash scripts/inspect_stacked_digits.sh [outputs/examples/stacked_digits]
set -euo pipefail
run=${1:-outputs/examples/stacked_digits}
out=docs/inspect
mkdir -p "$out"
if [ ! -f "$run/metrics.json" ] || ! grep -q '"finished": 1' "$run/metrics.json"; then
  mmagan-train data=stacked_digits net=dcgan net.g_width=32 net.d_width=32 iterations=1500 \
    trainer.val_check_interval=1500 eval.num_samples=2000 callbacks.progress_bar.refresh_rate=0 \
    logger=csv hydra.run.dir="$run"
fi
ckpt=$run/checkpoints/last.ckpt
mmagan-inspect layers "$ckpt"
mmagan-inspect vectors "$ckpt" --layer main.5 --latents 32 --out "$run/vectors.pt"
mmagan-inspect gallery "$ckpt" --vectors "$run/vectors.pt" --clusters 6 --out "$out/gallery.png"
mmagan-inspect interpolate "$ckpt" --seeds 0,1,2 --steps 6 --path spherical --out "$out/interpolation.png"
mmagan-inspect neighbours "$ckpt" --samples 6 --k 4 --out "$out/neighbours.png"
python - "$run" <<'PY'
import sys
from pathlib import Path
from PIL import Image, ImageDraw
run = Path(sys.argv[1])
m = Image.new("RGB", (32, 32), "black")
ImageDraw.Draw(m).rectangle([4, 4, 15, 27], fill="red")
ImageDraw.Draw(m).rectangle([18, 10, 28, 20], fill="blue")
m.save(run / "map.png")
(run / "palette.yaml").write_text("'#000000': keep\n'#ff0000': {cluster: 0, grid: 1}\n'#0000ff': {cluster: 3, grid: 2}\n")
PY
mmagan-paint "$ckpt" --vectors "$run/vectors.pt" --clusters 6 --map "$run/map.png" \
  --palette "$run/palette.yaml" --base-seed 3 --out "$out/painted.png"
