"""Callbacks of the `callbacks` config group; `mmagan.build` assembles them."""
