"""Look inside a trained generator: its layers, activation vectors written back into a layer
(everywhere, on a grid, or painted into regions), latent interpolation and nearest neighbours."""
