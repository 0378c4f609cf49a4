"""Image resolutions the nets are built for and the image data sets are prepared at (square, px)."""

RESOLUTIONS = (32, 64, 128, 256)
