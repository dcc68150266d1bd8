"""The whole chain behind ``edgefact build``.

Stages (each cached in ``DIR/<stage>/`` with a manifest, see :mod:`edgefact.pipeline.stages`)::

    train -> factorize -> cluster -> onnx -> tflite -> deploy-<target> -> report

``--model`` decides where the chain starts: a zoo name trains from scratch, a checkpoint (.pt)
starts at factorize, an .onnx at tflite and an .tflite at deploy. The deploy stage generates C,
builds the firmware, runs it on the target (input 0 timed and profiled per layer, every other
embedded input run once for bit-exactness and on-device accuracy) and compares the outputs with
the TFLM interpreter. The final report merges the accuracy of every stage with the device figures.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from edgefact.errors import EdgefactError
from edgefact.pipeline.config import BuildConfig
from edgefact.pipeline.stages import StageResult, StageRunner


@dataclass
class BuildResult:
    out_dir: Path
    report: dict[str, Any]
    report_dir: Path
    stages: list[dict[str, Any]]
    seconds: float


def model_kind(model: str) -> str:
    """'zoo', 'checkpoint', 'onnx' or 'tflite' for a ``--model`` value."""
    if not model:
        return "zoo"
    suffix = Path(model).suffix.lower()
    if suffix in (".pt", ".pth", ".ckpt"):
        return "checkpoint"
    if suffix == ".onnx":
        return "onnx"
    if suffix == ".tflite":
        return "tflite"
    return "zoo"


def _check_input_file(path: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise EdgefactError(f"model file {p} does not exist: give a zoo name (`edgefact models`), a .pt checkpoint, "
                            "an .onnx or an .tflite file")
    return p


def _epochs_to_steps(epochs: float, n_train: int, batch_size: int) -> tuple[int, int | None]:
    """(whole epochs, max_steps) for a possibly fractional number of epochs."""
    if epochs >= 1 and float(epochs).is_integer():
        return int(epochs), None
    steps = max(1, math.ceil(epochs * math.ceil(n_train / batch_size)))
    return max(1, math.ceil(epochs)), steps


def _dataset(cfg: BuildConfig, mean: list[float] | None = None, std: list[float] | None = None) -> Any:
    from edgefact.pipeline.data import Dataset, load_dataset

    ds = load_dataset(cfg.dataset, max_train=cfg.train_samples or None)
    if mean is not None and std is not None:
        ds = Dataset(ds.name, ds.x_train, ds.y_train, ds.x_test, ds.y_test, ds.classes, list(mean), list(std))
    return ds


def _train_settings(cfg: BuildConfig, arch: str) -> dict[str, Any]:
    from edgefact.models.zoo import DEFAULT_MODEL, DEFAULT_TRAIN

    base = dict(DEFAULT_TRAIN) if arch == DEFAULT_MODEL else {"epochs": 4, "lr": 0.004, "optimizer": "adam"}
    return {
        "epochs": cfg.epochs or base.get("epochs", 4),
        "lr": cfg.lr or base.get("lr", 0.004),
        "optimizer": base.get("optimizer", "adam"),
        "weight_decay": base.get("weight_decay", 0.0),
        "batch_size": cfg.batch_size,
    }


class Build:
    """One ``edgefact build``: resolves the configuration into stages and runs them."""

    def __init__(self, cfg: BuildConfig, *, force: tuple[str, ...] = (), echo: Any = None) -> None:
        from edgefact.targets import get_target

        self.cfg = cfg
        self.target = get_target(cfg.target)
        self.out = Path(cfg.out)
        self.kind = model_kind(cfg.model)
        self.echo = echo or (lambda s: click.echo(s, err=True))
        self.accuracy: dict[str, Any] = {}
        self.runner = StageRunner(self.out, total=self._stage_count(), force=force, echo=self.echo)

    # -- plan -------------------------------------------------------------------------------
    def _stage_count(self) -> int:
        if self.kind in ("onnx", "tflite"):
            return 3  # tflite, deploy, report
        # train/import, [factorize], [cluster], onnx, tflite, deploy, report
        return 5 + (self.cfg.factorize != "none") + (self.cfg.cluster > 0)

    # -- stages -----------------------------------------------------------------------------
    def _train(self) -> StageResult:
        from edgefact.models.zoo import DEFAULT_MODEL

        cfg = self.cfg
        arch = cfg.model or DEFAULT_MODEL
        settings = _train_settings(cfg, arch)
        options = {"arch": arch, "dataset": cfg.dataset, "width": cfg.width, "seed": cfg.seed,
                   "train_samples": cfg.train_samples, **settings}

        def run(tmp: Path) -> dict[str, Any]:
            from edgefact.models.zoo import build_model
            from edgefact.pipeline.checkpoint import save_checkpoint
            from edgefact.pipeline.train import seed_everything, train_model

            ds = _dataset(cfg)
            seed_everything(cfg.seed)
            arch_args = {"input_shape": tuple(ds.input_shape), "num_classes": ds.num_classes, "width": cfg.width}
            model = build_model(arch, **arch_args)
            epochs, steps = _epochs_to_steps(settings["epochs"], len(ds.x_train), cfg.batch_size)
            metrics = train_model(model, ds, epochs=epochs, max_steps=steps, batch_size=cfg.batch_size,
                                  lr=settings["lr"], optimizer=settings["optimizer"],
                                  weight_decay=settings["weight_decay"], seed=cfg.seed, label="train")
            save_checkpoint(tmp / "model.pt", model, arch, arch_args, ds.meta(), metrics)
            return {"accuracy": metrics.get("test_accuracy"), "metrics": metrics}

        return self.runner.run("train", run, options=options, tools=("torch",))

    def _finetune_setup(self, ckpt: Path) -> tuple[Any, Any, Any, tuple[int, int | None]]:
        """What the factorize and cluster stages start from: the checkpoint, its model, the data
        set normalized as the checkpoint says, and the fine-tuning (epochs, max_steps)."""
        from edgefact.pipeline.checkpoint import load_checkpoint

        ck = load_checkpoint(ckpt)
        mean, std = ck.normalization
        ds = _dataset(self.cfg, mean, std)
        return ck, ck.build_model(), ds, _epochs_to_steps(self.cfg.finetune_epochs, len(ds.x_train),
                                                            self.cfg.batch_size)

    def _factorize(self, ckpt: Path) -> StageResult:
        cfg = self.cfg
        options = {"method": cfg.factorize, "rank": cfg.rank, "energy": cfg.energy, "atoms": cfg.atoms,
                   "groups": cfg.groups, "finetune_epochs": cfg.finetune_epochs, "seed": cfg.seed,
                   "train_samples": cfg.train_samples, "batch_size": cfg.batch_size, "dataset": cfg.dataset}

        def run(tmp: Path) -> dict[str, Any]:
            from edgefact.pipeline.checkpoint import save_checkpoint
            from edgefact.pipeline.factorize import factorize_model
            from edgefact.pipeline.train import evaluate, train_model

            ck, teacher, ds, (epochs, steps) = self._finetune_setup(ckpt)
            kw: dict[str, Any] = {"energy": cfg.energy, "groups": cfg.groups, "seed": cfg.seed}
            if cfg.rank is not None:
                kw["rank"] = cfg.rank
            if cfg.atoms is not None:
                kw["atoms"] = cfg.atoms
            model, rep = factorize_model(teacher, cfg.factorize, ck.input_shape, **kw)
            self.echo(rep.table())
            before = evaluate(model, ds.x_test, ds.y_test, ds.mean, ds.std)
            metrics = train_model(model, ds, epochs=epochs, max_steps=steps, batch_size=cfg.batch_size,
                                  lr=1e-3, teacher=teacher, seed=cfg.seed, label="fine-tune")
            save_checkpoint(tmp / "model.pt", model, ck.arch, ck.arch_args, ck.dataset, metrics,
                            extra={"factorize": {"method": cfg.factorize, "accuracy_before_finetune": before}})
            (tmp / "factorize.json").write_text(json.dumps(dataclasses.asdict(rep), indent=2, default=str))
            return {"accuracy": metrics.get("test_accuracy"), "accuracy_before_finetune": before}

        return self.runner.run("factorize", run, inputs={"model": ckpt}, options=options, tools=("torch",))

    def _cluster(self, ckpt: Path) -> StageResult:
        cfg = self.cfg
        mode = "per-channel" if cfg.cluster_per_channel else "per-tensor"
        options = {"k": cfg.cluster, "mode": mode, "finetune_epochs": cfg.finetune_epochs, "seed": cfg.seed,
                   "train_samples": cfg.train_samples, "batch_size": cfg.batch_size, "dataset": cfg.dataset}

        def run(tmp: Path) -> dict[str, Any]:
            from edgefact.pipeline.checkpoint import save_checkpoint
            from edgefact.pipeline.cluster import ClusterConfig, cluster_model

            ck, model, ds, (epochs, steps) = self._finetune_setup(ckpt)
            ccfg = ClusterConfig(k=cfg.cluster, mode=mode, seed=cfg.seed, epochs=epochs, batch_size=cfg.batch_size)
            val = min(2000, max(200, len(ds.x_train) // 10))
            clustered, rep = cluster_model(model, ds, ccfg, val_samples=val, max_steps=steps, log=self.echo)
            save_checkpoint(tmp / "model.pt", clustered, ck.arch, ck.arch_args, ck.dataset,
                            {"test_accuracy": rep.acc_finetuned}, extra={"cluster": rep.to_dict()},
                            transforms=ck.transforms)
            (tmp / "cluster.json").write_text(json.dumps(rep.to_dict(), indent=2, default=str))
            return {"accuracy": rep.acc_finetuned, "accuracy_before": rep.acc_before,
                    "accuracy_kmeans_only": rep.acc_clustered, "expected_k": rep.expected_k(),
                    "layers": [{"name": lc.name, "k": lc.k, "status": lc.status, "reason": lc.reason}
                               for lc in rep.layers]}

        return self.runner.run("cluster", run, inputs={"model": ckpt}, options=options, tools=("torch", "scikit-learn"))

    def _onnx(self, ckpt: Path) -> StageResult:
        def run(tmp: Path) -> dict[str, Any]:
            from edgefact.pipeline.from_checkpoint import export_onnx_from_checkpoint

            res = export_onnx_from_checkpoint(ckpt, tmp / "model.onnx", data=self.cfg.dataset)
            return {"max_abs_diff": getattr(res, "max_abs_diff", None)}

        return self.runner.run("onnx", run, inputs={"model": ckpt}, options={"dataset": self.cfg.dataset},
                               tools=("torch", "onnx", "onnxruntime"))

    def _tflite(self, onnx_path: Path, ckpt: Path | None) -> StageResult:
        cfg = self.cfg
        options = {"calib_samples": cfg.calib_samples, "min_agreement": cfg.min_agreement, "dataset": cfg.dataset,
                   "seed": cfg.seed, "train_samples": cfg.train_samples}
        inputs = {"onnx": onnx_path}
        if ckpt is not None:
            inputs["model"] = ckpt

        def run(tmp: Path) -> dict[str, Any]:
            from edgefact.export.tflite_convert import convert_to_int8_tflite, select_calibration
            from edgefact.pipeline.data import normalize

            mean = std = None
            if ckpt is not None:
                from edgefact.pipeline.checkpoint import load_checkpoint

                mean, std = load_checkpoint(ckpt).normalization
            ds = _dataset(cfg, mean, std)
            calib = select_calibration(normalize(ds.x_train, ds.mean, ds.std), ds.y_train, cfg.calib_samples, cfg.seed)
            res = convert_to_int8_tflite(onnx_path, calib, tmp / "model.tflite",
                                         eval_data=(normalize(ds.x_test, ds.mean, ds.std), ds.y_test),
                                         min_agreement=cfg.min_agreement)
            self.echo(res.summary())
            info = {"float_accuracy": res.float_accuracy, "int8_accuracy": res.int8_accuracy,
                    "agreement": res.agreement, "ops": res.op_counts, "mean": list(ds.mean), "std": list(ds.std)}
            if ckpt is not None:
                info["cluster_check"] = self._verify_clusters(ckpt, tmp / "model.tflite")
            return info

        return self.runner.run("tflite", run, inputs=inputs, options=options,
                               tools=("tensorflow", "onnx2tf", "ai-edge-litert"))

    def _verify_clusters(self, ckpt: Path, tflite: Path) -> dict[str, Any] | None:
        from edgefact.pipeline.checkpoint import load_checkpoint

        ck = load_checkpoint(ckpt)
        info = ck.extra.get("cluster")
        if not info:
            return None
        from edgefact.pipeline.cluster import ClusterReport, verify_clustering

        rep = ClusterReport.from_dict(info)
        rows = verify_clustering(tflite, expected=rep.expected_k(), model=ck.build_model())
        bad = [r for r in rows if not r.ok]
        if bad:
            names = ", ".join(f"{r.name} ({r.max_distinct} > K={r.k})" for r in bad)
            raise EdgefactError(f"weight sharing did not survive int8 conversion for: {names}")
        clustered = [r for r in rows if r.k is not None]
        return {"clustered_tensors": len(clustered),
                "max_distinct": max((r.max_distinct for r in clustered), default=0)}

    def _copy_model(self, name: str, src: Path, file_name: str) -> StageResult:
        def run(tmp: Path) -> dict[str, Any]:
            shutil.copyfile(src, tmp / file_name)
            return {"source": str(src)}

        return self.runner.run(name, run, inputs={"source": src}, options={})

    def _eval_inputs(self, tflite: Path, mean: list[float] | None, std: list[float] | None) -> tuple[Any, Any]:
        """Quantized test samples for on-device accuracy, or (None, None) when not applicable."""
        cfg = self.cfg
        if cfg.eval_samples <= 0:
            return None, None
        from edgefact.pipeline.data import load_dataset
        from edgefact.pipeline.samples import real_samples

        try:
            ds = load_dataset(cfg.dataset, max_test=cfg.eval_samples)
            xs, labels = real_samples(tflite, ds, cfg.eval_samples, mean=mean, std=std)
        except EdgefactError as exc:
            self.echo(f"note: no on-device accuracy ({str(exc).splitlines()[0]})")
            return None, None
        return xs[0], np.asarray(labels)

    def _deploy(self, tflite: Path, mean: list[float] | None, std: list[float] | None) -> StageResult:
        cfg = self.cfg
        name = f"deploy-{self.target.name}"
        runner_options: dict[str, Any] = {}
        if cfg.runner == "serial":
            runner_options = {"port": cfg.port, "baud": cfg.baud}
        elif cfg.runner == "gdb" and cfg.gdb_server:
            runner_options = {"gdb_server": cfg.gdb_server}
        options = {"target": self.target.name, "opt": cfg.opt, "runner": cfg.runner, "no_run": cfg.no_run,
                   "pack": cfg.pack, "runner_options": runner_options, "bench_runs": cfg.bench_runs,
                   "eval_samples": cfg.eval_samples, "bitexact_inputs": cfg.bitexact_inputs,
                   "dataset": cfg.dataset, "mean": mean, "std": std}

        def run(tmp: Path) -> dict[str, Any]:
            from edgefact.pipeline.deploy import deploy_tflite

            x_eval, y_eval = self._eval_inputs(tflite, mean, std)
            report = deploy_tflite(tflite, self.target, tmp, real_inputs=x_eval, run=not cfg.no_run,
                                   opt=cfg.opt, runner=cfg.runner or None, n_random=max(1, cfg.bitexact_inputs),
                                   timeout_s=cfg.timeout, write_report=False, pack=cfg.pack,
                                   runner_options=runner_options, runs=cfg.bench_runs,
                                   model_name=self._model_label())
            info: dict[str, Any] = {}
            outputs = tmp / "outputs.npy"
            if x_eval is not None and outputs.is_file():
                got = np.load(outputs)[-len(y_eval):].reshape(len(y_eval), -1)
                from edgefact.export.reference import run_tflm

                ref = run_tflm(tflite, x_eval)[0].reshape(len(y_eval), -1)
                info["device_accuracy"] = float((got.argmax(1) == y_eval).mean())
                info["reference_accuracy"] = float((ref.argmax(1) == y_eval).mean())
                info["device_agreement"] = float((got.argmax(1) == ref.argmax(1)).mean())
                info["device_samples"] = len(y_eval)
            (tmp / "deploy.json").write_text(json.dumps(report, indent=2, default=str))
            return info

        return self.runner.run(name, run, inputs={"tflite": tflite}, options=options,
                               tools=("cmd:arm-none-eabi-gcc", "cmd:qemu-system-arm", "tflite-micro"))

    def _model_label(self) -> str:
        from edgefact.models.zoo import DEFAULT_MODEL

        label = (self.cfg.model or DEFAULT_MODEL) if self.kind == "zoo" else Path(self.cfg.model).stem
        if self.cfg.factorize != "none":
            label += f"-{self.cfg.factorize}"
        if self.kind in ("zoo", "checkpoint") and self.cfg.cluster > 0:
            label += f"-k{self.cfg.cluster}"
        return label

    # -- the chain --------------------------------------------------------------------------
    def run(self) -> BuildResult:
        t0 = time.perf_counter()
        cfg = self.cfg
        self.echo(f"edgefact build: target {self.target.name}, model {cfg.model or '(default)'}, out {self.out}")
        ckpt: Path | None = None
        mean = std = None
        if self.kind in ("zoo", "checkpoint"):
            if self.kind == "zoo":
                r = self._train()
                self.accuracy["float"] = r.info.get("accuracy")
            else:
                r = self._copy_model("import", _check_input_file(cfg.model), "model.pt")
            ckpt = r.path("model.pt")
            if cfg.factorize != "none":
                r = self._factorize(ckpt)
                ckpt = r.path("model.pt")
                self.accuracy["factorized"] = r.info.get("accuracy")
            if cfg.cluster > 0:
                r = self._cluster(ckpt)
                ckpt = r.path("model.pt")
                self.accuracy["clustered"] = r.info.get("accuracy")
            onnx_path = self._onnx(ckpt).path("model.onnx")
        elif self.kind == "onnx":
            onnx_path = _check_input_file(cfg.model)
        if self.kind == "tflite":
            tfl = self._copy_model("tflite", _check_input_file(cfg.model), "model.tflite")
        else:
            tfl = self._tflite(onnx_path, ckpt)
            self.accuracy["int8"] = tfl.info.get("int8_accuracy")
            self.accuracy.setdefault("float", tfl.info.get("float_accuracy"))
            mean, std = tfl.info.get("mean"), tfl.info.get("std")
        dep = self._deploy(tfl.path("model.tflite"), mean, std)
        if "device_accuracy" in dep.info:
            self.accuracy["device"] = dep.info["device_accuracy"]
            self.accuracy["device_samples"] = dep.info["device_samples"]
            self.accuracy["reference_on_device_samples"] = dep.info["reference_accuracy"]
        report = json.loads(dep.path("deploy.json").read_text())
        return self._report(report, t0)

    def _report(self, report: dict[str, Any], t0: float) -> BuildResult:
        from edgefact.report.render import summary_line, write_reports

        report["accuracy"] = {k: v for k, v in self.accuracy.items() if v is not None}
        report["config"] = {k: v for k, v in dataclasses.asdict(self.cfg).items() if k != "extra"}
        report_dir = self.out / f"report-{self.target.name}"
        stages = self.runner.summary()
        stages.append({"name": "report", "seconds": 0.0, "cached": False})
        report["stages"] = stages
        write_reports(report, report_dir)
        # the newest build's report also at the top of DIR, for `edgefact compare DIR ...`
        write_reports(report, self.out)
        seconds = time.perf_counter() - t0
        n_cached = sum(1 for s in stages if s["cached"])
        self.echo(f"[{len(stages)}/{len(stages)}] report     written to {report_dir} "
                  f"({n_cached} of {len(stages) - 1} stages cached, {seconds:.1f} s in all)")
        click.echo(summary_line(report))
        return BuildResult(self.out, report, report_dir, stages, seconds)


def run_build(cfg: BuildConfig, **kw: Any) -> BuildResult:
    return Build(cfg, **kw).run()
