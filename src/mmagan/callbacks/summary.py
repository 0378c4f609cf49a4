"""The model summary at the start of training, without Lightning's FLOPs column.

Lightning counts FLOPs by running the module's `example_input_array` through `forward`; a GAN
module has two nets stepped by hand and no such input, so the column and its total would be zeros.
"""

from __future__ import annotations

import logging
from typing import Any

from lightning.pytorch.callbacks import ModelSummary

log = logging.getLogger("mmagan")


class ParameterSummary(ModelSummary):
    """Lightning's per-module table (name, type, parameters, mode) and parameter totals."""

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int = 0,
        **summarize_kwargs: Any,
    ) -> None:
        columns = [(name, [str(v) for v in values]) for name, values in summary_data if name != "FLOPs"]
        widths = [
            max(len(name), *(len(v) for v in values)) if values else len(name) for name, values in columns
        ]
        rows = [" | ".join(name.ljust(w) for (name, _), w in zip(columns, widths))]
        rows.append("-" * len(rows[0]))
        for i in range(len(columns[0][1]) if columns else 0):
            rows.append(" | ".join(values[i].ljust(w) for (_, values), w in zip(columns, widths)))
        rows.append(
            f"{trainable_parameters:,} trainable parameters, {total_parameters - trainable_parameters:,} "
            f"non-trainable, {model_size:.2f} MB"
        )
        log.info("\n%s", "\n".join(rows))
