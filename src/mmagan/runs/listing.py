"""Run folders as records: what was run (method, data, K, lambda, tau, seed), how it ended, its figures."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from mmagan.runs.run_folder import CONFIG, RunFolder
from mmagan.runs.sweep_jobs import FINISHED, MISSING, PLAN, job_status, read_failure, read_metrics, sweep_plan

# Figures that describe the run rather than the model: left out of the report.
BOOKKEEPING_SUFFIXES = ("_seconds", "_se", "_std", "_pairs")


class MethodRole:
    """The part a run's or a row's `method` plays in a study (Objective.role)."""

    method: str

    @property
    def role(self) -> str:
        """studied, baseline or remedy."""
        from mmagan.objectives import role_of  # here: objectives import nets, torch

        return role_of(self.method)

    @property
    def studied(self) -> bool:
        return self.role == "studied"


@dataclass
class RunRecord(MethodRole):
    """One run as the report and the listing see it: where, what it trained (data, method,
    seed, MMA-GAN's K / lambda / tau), its status, final metrics and error."""

    folder: Path
    status: str
    data: str = "?"
    method: str = "?"
    K: int | None = None
    lam: float | None = None
    tau: float | None = None
    seed: int | None = None
    packing: int | None = None
    variant: str = ""  # MMA-GAN's options that differ from the paper's, e.g. "balanced+best_head"
    # Any other objective's parameters that differ from its defaults, e.g. "gp_weight=5": what
    # tells its configurations apart with no code for it here.
    params: str = ""
    iterations: int | None = None
    optimizer: str = ""  # "Adam lr_g=... lr_d=... betas=(...)": what a benchmark's methods trained with
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""

    @property
    def configuration(self) -> tuple:
        """What seeds of one setting share: the key rows of the report are grouped by."""
        return (self.data, self.method, self.K, self.lam, self.tau, self.packing, self.variant, self.params)


def changed_params(objective) -> str:
    """The objective's parameters that differ from its class's defaults, as "key=value,...";
    "" for an objective this installation does not know."""
    import inspect

    from mmagan.objectives import OBJECTIVES

    cls = OBJECTIVES.get(str(objective.name))
    if cls is None:
        return ""
    defaults = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items() if k != "self"}
    return ",".join(
        f"{k}={objective[k]}" for k in sorted(defaults) if k in objective and objective[k] != defaults[k]
    )


def remedy_options(cfg) -> str:
    """The options outside the objective that change what a run trains: enabled generator
    regularisers (e.g. "ms.weight=1") and D's minibatch layer, as "key=value,..."; "" for none."""
    from mmagan.regularizers import REGULARIZERS

    chosen = []
    for name, cls in REGULARIZERS.items():
        block = OmegaConf.select(cfg, name)
        if cls.remedy and block is not None and cls.weight_of(block, cfg.get("net", {})) > 0:
            chosen.append(f"{name}.{cls.weight_key}={cls.weight_of(block, cfg.get('net', {})):g}")
    minibatch = OmegaConf.select(cfg, "net.d_minibatch")
    if minibatch not in (None, "none"):
        chosen.append(f"net.d_minibatch={minibatch}")
    return ",".join(chosen)


def variant_of(cls, objective) -> str:
    """The variant options a run changed from its method's defaults (the class's `variant`), from
    its config; "" for a method without variants."""
    if not getattr(cls, "variant_options", ()):
        return ""
    return cls(**{k: objective[k] for k in cls.variant_options if k in objective}).variant


def is_reported_metric(name: str) -> bool:
    """Whether a metrics.json key is a result (not a training-loss log, a counter or a timer)."""
    if name.startswith("train/") or name in ("iteration", "finished", "train_seconds"):
        return False
    return not name.endswith(BOOKKEEPING_SUFFIXES)


def read_run(folder: Path) -> RunRecord:
    """The RunRecord of one run folder, from its config.yaml, metrics.json and failed.json."""
    folder = Path(folder)
    record = RunRecord(folder=folder, status=job_status(folder))
    config_file = RunFolder(folder).config
    if config_file.is_file():
        cfg = OmegaConf.load(config_file)
        objective = cfg.model.objective
        record.data = str(cfg.data.name)
        record.method = str(objective.name)
        record.seed = int(cfg.seed)
        iterations = OmegaConf.select(cfg, "iterations")
        record.iterations = int(iterations) if iterations is not None else None
        opt = OmegaConf.select(cfg, "model.optimizer")
        if opt is not None and all(k in opt for k in ("lr_g", "lr_d", "betas")):  # older runs may lack one
            betas = ", ".join(f"{b:g}" for b in opt.betas)
            record.optimizer = f"Adam lr_g={opt.lr_g:g} lr_d={opt.lr_d:g} betas=({betas})"
        from mmagan.objectives import OBJECTIVES  # here: objectives import nets, torch

        cls = OBJECTIVES.get(record.method)
        columns = getattr(cls, "report_columns", ())
        if not columns:  # a method with columns of its own shows them instead
            record.params = changed_params(objective)
        record.params = ",".join(p for p in (record.params, remedy_options(cfg)) if p)
        if "packing" in columns:
            record.packing = int(objective.get("packing", 2))
        if "num_heads" in columns:
            record.K = int(objective.num_heads)
            record.lam = float(objective.lambda_div)
            record.tau = float(objective.tau)
        record.variant = variant_of(cls, objective)
    record.metrics = {
        k: float(v)
        for k, v in read_metrics(folder).items()
        if isinstance(v, (int, float)) and is_reported_metric(k)
    }
    record.error = read_failure(folder).get("error", "")
    return record


def find_runs(paths: list[Path]) -> list[RunRecord]:
    """Every run under the given folders (a run folder, a sweep folder, or any folder above them).
    In a sweep folder (it holds Hydra's multirun.yaml) jobs that never started are listed as missing."""
    records: dict[Path, RunRecord] = {}
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist: give run or sweep folders")
        for config in sorted(path.glob(f"**/{CONFIG}")):
            folder = config.parent.parent
            records.setdefault(folder.resolve(), read_run(folder))
        sweeps = {p.parent for p in [*path.glob("**/multirun.yaml"), *path.glob(f"**/{PLAN}")]}
        for sweep in sorted(sweeps):
            for name in sweep_plan(sweep):
                folder = sweep / name
                if folder.resolve() not in records:
                    records[folder.resolve()] = RunRecord(folder=folder, status=MISSING)
    return sorted(records.values(), key=lambda r: str(r.folder))


def learning_curve(folder: Path, metric: str) -> list[tuple[float, float]]:
    """(iteration, value) pairs of one metric from the run's CSV log: csv/metrics.csv, after the
    parts an interrupted and resumed run left (a step logged again replaces the earlier value)."""
    logs = RunFolder(folder).csv
    parts = sorted(logs.glob("metrics_part*.csv"), key=lambda p: int(p.stem.removeprefix("metrics_part")))
    points: dict[float, float] = {}
    for path in [*parts, logs / "metrics.csv"]:
        if path.is_file():
            with path.open() as f:
                for row in csv.DictReader(f):
                    if row.get(metric) and row.get("step"):
                        points[float(row["step"])] = float(row[metric])
    return sorted(points.items())


def finished(records: list[RunRecord]) -> list[RunRecord]:
    """The records of runs that finished."""
    return [r for r in records if r.status == FINISHED]
