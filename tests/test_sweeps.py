"""Multiruns through the real Hydra path: job folders, failures, re-runs, requeues, wandb, launchers."""

import itertools
import json
from pathlib import Path

import pytest
from helpers import TINY, TINY_MLP, run_cli
from lightning.pytorch.plugins.environments import SLURMEnvironment

from mmagan.build import build
from mmagan.report.cli import write_report
from mmagan.runs.job_names import job_dirname

# A job in about a second: the ring with small nets, a few iterations.
QUICK = [*TINY, *TINY_MLP, "iterations=6", "eval.num_samples=250", "data.num_samples=500"]


def job_dirs(sweep_dir: Path) -> dict[str, Path]:
    return {p.name: p for p in sweep_dir.iterdir() if p.is_dir()}


def read_metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def test_job_names_lead_with_the_grid_and_stay_flat():
    name = job_dirname(
        ["+sweep=mmagan_grid", "seed=2", "model.objective.tau=0.3", "model.objective.num_heads=16"]
        + ["model.objective.lambda_div=0.5", "data.root=/data/celeba hq", "logger=wandb", "launcher=ray"]
    )
    assert name == "K=16,lambda=0.5,tau=0.3,seed=2,data.root=_data_celeba_hq"
    long_a, long_b = job_dirname([f"x={'a' * 300}"]), job_dirname([f"x={'a' * 299}b"])
    assert len(long_a) <= 180 and long_a != long_b


def test_the_launcher_switch_picks_hydra_launchers():
    from hydra import compose, initialize_config_dir

    from mmagan.config import config_dir

    targets = {"local": "BasicLauncher", "ray": "RayLauncher", "slurm": "SlurmLauncher"}
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        for launcher, target in targets.items():
            cfg = compose("train", ["+sweep=mmagan_grid", f"launcher={launcher}"], return_hydra_config=True)
            assert cfg.hydra.launcher._target_.endswith(target)
            assert cfg.hydra.sweeper.params["model.objective.num_heads"] == "4,8,16"
            assert cfg.hydra.sweep.dir == "outputs/sweeps/mmagan_grid"
    assert cfg.hydra.launcher.max_num_timeout > 0  # slurm: requeued at its time limit


@pytest.mark.slow  # over ten seconds on two cores
def test_a_failing_job_is_recorded_the_rest_run_and_a_rerun_skips_finished_jobs(tmp_path):
    args = ["-m", "+sweep=mmagan_grid", "model.objective.num_heads=4", "model.objective.lambda_div=0.1"]
    args += ["model.objective.tau=0.3,1.5", "seed=0", *QUICK]
    first = run_cli(*args, cwd=tmp_path)
    out = first.stdout + first.stderr
    assert first.returncode == 1, out[-3000:]  # after every job ran, the sweep reports the failure
    jobs = job_dirs(tmp_path / "outputs" / "sweeps" / "mmagan_grid")
    assert all(name.startswith("K=4,lambda=0.1,tau=") for name in jobs)
    good = next(p for name, p in jobs.items() if name.startswith("K=4,lambda=0.1,tau=0.3,seed=0,"))
    bad = next(p for name, p in jobs.items() if "tau=1.5" in name)
    assert read_metrics(good)["finished"] == 1
    assert "model.objective.tau=1.5" in json.loads((bad / "failed.json").read_text())["error"]
    assert "1 failed, 1 finished" in out
    plan = (tmp_path / "outputs" / "sweeps" / "mmagan_grid" / "planned_jobs.txt").read_text().splitlines()
    assert sorted(plan) == sorted(jobs)  # recorded when the multirun started
    stamp = (good / "metrics.json").stat().st_mtime_ns

    second = run_cli(*args, cwd=tmp_path)
    assert "skipped, finished before" in second.stdout + second.stderr
    assert (good / "metrics.json").stat().st_mtime_ns == stamp  # not trained again
    assert len(job_dirs(tmp_path / "outputs" / "sweeps" / "mmagan_grid")) == 2
    report = write_report([tmp_path / "outputs" / "sweeps"], tmp_path / "report")
    assert {r.status for r in report["records"]} == {"finished", "failed"}
    assert "tau=1.5" in (tmp_path / "report" / "report.md").read_text().split("did not finish")[1]


def test_a_sweep_run_one_seed_at_a_time_keeps_every_invocations_jobs_in_its_plan(tmp_path):
    """Hydra's multirun.yaml holds only the last invocation's jobs; the recorded plan keeps the
    earlier seeds' jobs, so the listing still counts them as planned (here: none started)."""
    from omegaconf import OmegaConf

    from mmagan.runs.listing import find_runs
    from mmagan.runs.sweep_jobs import record_plan, sweep_plan

    sweep = tmp_path / "sweeps" / "results_ring_medium"
    params = {"seed": "0,1,2", "model": "mmagan,dcgan"}
    for seed in (0, 1):
        hydra = {"sweeper": {"params": params}, "overrides": {"task": [f"seed={seed}"]}}
        cfg = OmegaConf.create({"hydra": hydra})
        record_plan(cfg, sweep)
        OmegaConf.save(cfg, sweep / "multirun.yaml")  # as Hydra does: the last invocation's only
    plan = sweep_plan(sweep)
    assert len(set(plan)) == len(plan) == 4
    assert sorted("seed=0" in job for job in plan) == [False, False, True, True]
    assert len([job for job in plan if "model=dcgan" in job]) == 2
    records = find_runs([tmp_path / "sweeps"])
    assert len(records) == 4 and {r.status for r in records} == {"missing"}
    record_plan(cfg, sweep)  # the same invocation again adds nothing
    assert sweep_plan(sweep) == plan


def test_under_submitit_only_submitit_requeues(make_cfg, monkeypatch):
    slurm = {"SLURM_NTASKS": "1", "SLURM_JOB_NAME": "job", "SLURM_JOB_ID": "7", "SLURM_PROCID": "0"}
    slurm |= {"SLURM_LOCALID": "0", "SLURM_NODEID": "0", "SLURM_NODELIST": "node1"}
    for key, value in slurm.items():
        monkeypatch.setenv(key, value)
    plain = build(make_cfg()).trainer._accelerator_connector.cluster_environment
    assert isinstance(plain, SLURMEnvironment) and plain.auto_requeue  # plain sbatch: Lightning's
    monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
    env = build(make_cfg()).trainer._accelerator_connector.cluster_environment
    assert isinstance(env, SLURMEnvironment) and not env.auto_requeue


def wandb_records(path: Path):
    """Records of a .wandb file: wandb's LevelDB-style log (7-byte header, 32 KiB blocks)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # block trailer padding
            pos += block - pos % block
            continue
        length, kind = int.from_bytes(data[pos + 4 : pos + 6], "little"), data[pos + 6]
        pending += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # a full record, or the last piece of one
            record = pb.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


@pytest.mark.slow  # over ten seconds on two cores
def test_wandb_offline_one_finished_run_per_job(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.netrc: mode auto goes offline
    monkeypatch.setenv("WANDB_SILENT", "true")
    result = run_cli(
        "-m", "+sweep=baselines", "model=gan,dcgan", "seed=0", *QUICK, "logger=wandb", cwd=tmp_path
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    jobs = job_dirs(tmp_path / "outputs" / "sweeps" / "baselines")
    assert len(jobs) == 2
    for name, folder in jobs.items():
        (run_file,) = folder.glob("wandb/offline-run-*/run-*.wandb")
        records = {}
        for record in wandb_records(run_file):
            records.setdefault(record.WhichOneof("record_type"), record)
        assert records["run"].run.run_group == "baselines"
        assert records["run"].run.display_name == name
        logged = {item.key: json.loads(item.value_json) for item in records["config"].config.update}
        assert logged["model"]["objective"]["name"] == name.split(",")[0].removeprefix("model=")
        assert logged["iterations"] == 6  # the resolved config
        assert records["exit"].exit.exit_code == 0  # each job finished its run


@pytest.mark.slow
def test_the_27_point_grid_through_hydra_and_its_report(tmp_path):
    result = run_cli("-m", "+sweep=mmagan_grid", "seed=0", *QUICK, cwd=tmp_path, timeout=1200)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    sweep_dir = tmp_path / "outputs" / "sweeps" / "mmagan_grid"
    jobs = job_dirs(sweep_dir)
    assert len(jobs) == 27 and "27 jobs, 27 finished" in out
    assert all(read_metrics(folder)["finished"] == 1 for folder in jobs.values())
    report = write_report([sweep_dir], tmp_path / "report")
    grid = {(r.K, r.lam, r.tau) for r in report["rows"]}
    assert grid == set(itertools.product([4, 8, 16], [0.1, 0.5, 1.0], [0.3, 0.5, 0.7]))
    assert len((tmp_path / "report" / "report.csv").read_text().strip().splitlines()) == 1 + 27
    assert any(f.name.startswith("heatmap_ring_") for f in report["figures"])


@pytest.mark.slow
def test_ray_launcher_two_jobs_in_fresh_processes(tmp_path):
    result = run_cli(
        "-m", "+sweep=mmagan_grid", "model.objective.num_heads=4", "model.objective.lambda_div=0.1",
        "model.objective.tau=0.3,0.5", "seed=0", *QUICK, "launcher=ray",
        "hydra.launcher.ray.remote.num_gpus=0", "hydra.launcher.ray.init.num_cpus=2",
        cwd=tmp_path, timeout=600,
    )  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "Ray Launcher is launching 2 jobs" in out and "2 jobs, 2 finished" in out
    jobs = job_dirs(tmp_path / "outputs" / "sweeps" / "mmagan_grid")
    assert sorted(n.split(",")[2] for n in jobs) == ["tau=0.3", "tau=0.5"]
    assert all(read_metrics(folder)["finished"] == 1 for folder in jobs.values())
    # each job keeps to the one core Ray gave it (remote.num_cpus=1), whatever the machine has
    for folder in jobs.values():
        log_text = "".join(f.read_text() for f in folder.glob("*.log"))
        assert "torch threads: 1" in log_text, log_text[-2000:]


def test_ray_gpu_request_follows_the_trainer_and_fractions_compose():
    from hydra import compose, initialize_config_dir

    from mmagan.config import config_dir

    def remote(*overrides):
        cfg = compose("train", ["+sweep=mmagan_grid", "launcher=ray", *overrides], return_hydra_config=True)
        return cfg.hydra.launcher.ray.remote.num_gpus

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        assert remote() == 0  # trainer=cpu asks for no GPU
        assert remote("trainer=gpu") == 1
        assert remote("trainer=ddp") == 2
        assert remote("trainer=gpu", "hydra.launcher.ray.remote.num_gpus=0.25") == 0.25  # 4 jobs per GPU


def test_a_ray_request_this_machine_cannot_fill_is_refused_before_any_job(tmp_path):
    from omegaconf import OmegaConf

    from mmagan.runs.ray_resources import local_ray_shortfall

    launcher = OmegaConf.create(
        {
            "ray": {
                "init": {"address": None, "num_gpus": None, "num_cpus": None},
                "remote": {"num_gpus": 0.25, "num_cpus": 1},
            }
        }
    )
    assert local_ray_shortfall(launcher, gpus_here=1, cpus_here=16) is None
    assert "(0 GPUs)" in local_ray_shortfall(launcher, gpus_here=0, cpus_here=16)
    launcher.ray.init.address = "auto"  # a cluster's nodes decide, not this machine
    assert local_ray_shortfall(launcher, gpus_here=0, cpus_here=16) is None

    result = run_cli(
        "-m",
        "launcher=ray",
        "seed=0,1",
        "iterations=50",
        "hydra.launcher.ray.remote.num_gpus=1",
        cwd=tmp_path,
        timeout=120,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in out, out[-2000:]
    assert "hydra.launcher.ray.remote.num_gpus=1 is more than this machine's Ray has" in out


def test_every_sweep_file_composes_into_valid_runs():
    """Each definition in sweeps/, with every model it sweeps and the first value of its other axes,
    passes the checks a run makes before training: a mistyped key or a bad value in a study's
    sweep fails here, not hours into the study."""
    from hydra import compose, initialize_config_dir

    from mmagan.config import config_dir
    from mmagan.config.validation import validate_config

    names = sorted(p.stem for p in (Path(__file__).parents[1] / "sweeps").glob("*.yaml"))
    assert {"results_ring_medium", "results_grid_medium", "mmagan_grid"} <= set(names)
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        for name in names:
            axes = dict(compose("train", [f"+sweep={name}"], return_hydra_config=True).hydra.sweeper.params)
            models = str(axes.pop("model")).split(",") if "model" in axes else [None]
            first = [f"{key}={str(values).split(',')[0]}" for key, values in axes.items()]
            for model in models:
                cfg = compose("train", [f"+sweep={name}", *first, *([f"model={model}"] if model else [])])
                validate_config(cfg)


def test_the_toy_wgan_gp_differs_from_wgan_gp_in_its_penalty_weight_alone_and_reports_as_its_own_row(
    tmp_path,
):
    """model=wgan_gp_toy is WGAN-GP with the toy penalty weight of 0.1; the report keys its runs by
    that parameter, so the two never share a row."""
    from omegaconf import OmegaConf

    from mmagan.config import compose
    from mmagan.runs.listing import read_run

    paper = compose("train", ["experiment=ring_pacgan", "model=wgan_gp"])
    toy = compose("train", ["experiment=ring_pacgan", "model=wgan_gp_toy"])
    assert toy.model.objective.gp_weight == 0.1 and paper.model.objective.gp_weight == 10.0
    toy.model.objective.gp_weight = 10.0
    assert OmegaConf.to_container(toy.model) == OmegaConf.to_container(paper.model)

    toy.model.objective.gp_weight = 0.1
    records = []
    for name, cfg in (("paper", paper), ("toy", toy)):
        (tmp_path / name / ".hydra").mkdir(parents=True)
        OmegaConf.save(cfg, tmp_path / name / ".hydra" / "config.yaml")
        records.append(read_run(tmp_path / name))
    assert [r.params for r in records] == ["", "gp_weight=0.1"]
    assert records[0].configuration != records[1].configuration


def test_sweeps_launched_side_by_side_into_one_folder_both_pass_the_write_check(tmp_path):
    """Two halves of a sweep started at once (two machines, two terminals) check the same folder;
    neither may see the other's probe vanish and stop with a false "cannot write"."""
    from concurrent.futures import ThreadPoolExecutor

    from mmagan.runs.output_dir import prepare_output_dir

    folder = tmp_path / "sweeps" / "shared"
    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(lambda _: prepare_output_dir(folder), range(400)))
    assert done == [folder] * 400 and list(folder.iterdir()) == []  # no probe left behind
