"""The whole chain behind ``edgefact build``.

Stages (each cached in ``DIR/<stage>/`` with a manifest; declared as data in
:data:`edgefact.pipeline.stages.STAGES`)::

    train|import -> [factorize] -> [cluster] -> onnx -> tflite -> deploy-<target> -> report

``--model`` decides where the chain starts: a zoo name trains from scratch, a checkpoint (.pt)
is imported, an .onnx starts at tflite and an .tflite is copied and deployed. :class:`Build`
walks the chain :func:`~edgefact.pipeline.stages.plan` gives, one method per stage ``action``,
handing each stage the artifacts its description names. The deploy stage generates C,
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

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.hashing import file_sha256
from edgefact.pipeline.config import BuildConfig
from edgefact.pipeline.stages import SharedCache, StageFn, StageResult, StageRunner, StageSpec, plan
from edgefact.progress import current as current_output
from edgefact.targets.runners.options import runner_options as runner_options_for


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
    from edgefact.pipeline.train import TRAIN_RECIPE_KEYS

    base = dict(DEFAULT_TRAIN) if arch == DEFAULT_MODEL else {"epochs": 4, "lr": 0.004, "optimizer": "adam"}
    return {
        "epochs": cfg.epochs or base.get("epochs", 4),
        "lr": cfg.lr or base.get("lr", 0.004),
        "optimizer": base.get("optimizer", "adam"),
        "weight_decay": base.get("weight_decay", 0.0),
        "batch_size": cfg.batch_size,
        # the recipe pieces of edgefact.pipeline.train (warm-up, label smoothing, augmentation)
        "recipe": {k: base[k] for k in TRAIN_RECIPE_KEYS if k in base},
    }


def factorize_options(cfg: BuildConfig, channel_multiple: int) -> dict[str, Any]:
    """``factorize_model``'s keywords for a build: the options the user set, the target's channel
    multiple for the rank rounding, and ``--max-ratio`` 1 as no cap at all."""
    kw: dict[str, Any] = {"energy": cfg.energy, "groups": cfg.groups, "seed": cfg.seed,
                          "channel_multiple": channel_multiple, "max_ratio": cfg.max_ratio if cfg.max_ratio < 1 else None}
    if cfg.rank is not None:
        kw["rank"] = cfg.rank
    if cfg.atoms is not None:
        kw["atoms"] = cfg.atoms
    return kw


class Build:
    """One ``edgefact build``: resolves the configuration into stages and runs them."""

    def __init__(self, cfg: BuildConfig, *, force: tuple[str, ...] = (), echo: Any = None,
                 shared: SharedCache | None = None, stop_after: str | None = None) -> None:
        """``shared`` / ``stop_after``: the hooks of ``edgefact sweep`` (see :class:`SharedCache`;
        ``stop_after`` names a stage directory, e.g. ``deploy-cortex-m4``, after which the run stops
        with :class:`~edgefact.pipeline.stages.StopAfterStage`)."""
        from edgefact.firmware.kernels import fast_channel_multiple
        from edgefact.pipeline.deploy import resolve_runner
        from edgefact.targets import get_target

        self.cfg = cfg
        # names resolved once, here at the configuration boundary; stages get the objects
        self.target = get_target(cfg.target)
        # the options of the chosen runner, from the one schema (edgefact.targets.runners.options)
        self.runner_options = runner_options_for(cfg.runner, cfg.runner_options) if cfg.runner else {}
        self.device_runner = resolve_runner(self.target, cfg.runner or None, self.runner_options)
        self.out = Path(cfg.out)
        self.kind = model_kind(cfg.model)
        self.plan: list[StageSpec] = plan(cfg, self.kind)
        # messages go through the command's output policy (edgefact.progress): stderr, live in a terminal
        self.echo = echo or current_output().echo
        self.accuracy: dict[str, Any] = {}
        #: values earlier stages computed that later stages' keys depend on (StageSpec.upstream)
        self.values: dict[str, Any] = {"mean": None, "std": None}
        # the measured kernel costs a dictionary layer's emitted form is chosen by (factorize stage key)
        self.values["kernel_costs"] = None
        if cfg.factorize == "dictionary":
            from edgefact.targets.kernel_costs import cost_key

            self.values["kernel_costs"] = cost_key(self.target.core)
        #: hardware-aware factorization: the channel multiple ranks round to (resolved from the core)
        self.round_ranks = cfg.round_ranks if cfg.round_ranks is not None else fast_channel_multiple(self.target.core)
        self.runner = StageRunner(self.out, total=len(self.plan), force=force, echo=self.echo, shared=shared,
                                  stop_after=stop_after)

    def key_values(self) -> dict[str, Any]:
        """Resolved forms of config fields in the cache keys, plus the upstream values so far."""
        return {"target": self.target.name, "runner_options": self.runner_options, "round_ranks": self.round_ranks,
                **self.values}

    def _stage(self, spec: StageSpec, inputs: dict[str, Path], fn: StageFn) -> StageResult:
        return self.runner.run(spec.dir_name(self.target.name), fn, inputs=inputs,
                               options=spec.key_options(self.cfg, self.key_values()), tools=spec.tools,
                               outputs=spec.outputs)

    # -- stages (one method per StageSpec.action) -------------------------------------------
    def _train(self, spec: StageSpec, inputs: dict[str, Path]) -> StageResult:
        from edgefact.models.zoo import DEFAULT_MODEL

        cfg = self.cfg
        arch = cfg.model or DEFAULT_MODEL
        settings = _train_settings(cfg, arch)

        def run(tmp: Path) -> dict[str, Any]:
            from edgefact.models.zoo import build_model
            from edgefact.pipeline.checkpoint import save_checkpoint
            from edgefact.pipeline.train import recipe_kwargs, seed_everything, train_model

            ds = _dataset(cfg)
            seed_everything(cfg.seed)
            arch_args = {"input_shape": tuple(ds.input_shape), "num_classes": ds.num_classes, "width": cfg.width}
            model = build_model(arch, **arch_args)
            epochs, steps = _epochs_to_steps(settings["epochs"], len(ds.x_train), cfg.batch_size)
            metrics = train_model(model, ds, epochs=epochs, max_steps=steps, batch_size=cfg.batch_size,
                                  lr=settings["lr"], optimizer=settings["optimizer"],
                                  weight_decay=settings["weight_decay"], seed=cfg.seed, label="train",
                                  **recipe_kwargs(settings["recipe"], ds.name, ds.input_shape))
            save_checkpoint(tmp / "model.pt", model, arch, arch_args, ds.meta(), metrics)
            return {"accuracy": metrics.get("test_accuracy"), "metrics": metrics}

        r = self._stage(spec, inputs, run)
        self.accuracy["float"] = r.info.get("accuracy")
        return r

    def _finetune_setup(self, ckpt: Path) -> tuple[Any, Any, Any, tuple[int, int | None]]:
        """What the factorize and cluster stages start from: the checkpoint, its model, the data
        set normalized as the checkpoint says, and the fine-tuning (epochs, max_steps)."""
        from edgefact.pipeline.checkpoint import load_checkpoint

        ck = load_checkpoint(ckpt)
        mean, std = ck.normalization
        ds = _dataset(self.cfg, mean, std)
        return ck, ck.build_model(), ds, _epochs_to_steps(self.cfg.finetune_epochs, len(ds.x_train),
                                                            self.cfg.batch_size)

    def _factorize(self, spec: StageSpec, inputs: dict[str, Path]) -> StageResult:
        cfg = self.cfg
        ckpt = inputs["model.pt"]

        def run(tmp: Path) -> dict[str, Any]:
            from edgefact.pipeline.checkpoint import save_checkpoint
            from edgefact.pipeline.factorize import choose_dictionary_forms, factorize_model
            from edgefact.pipeline.train import evaluate, train_model

            ck, teacher, ds, (epochs, steps) = self._finetune_setup(ckpt)
            model, rep = factorize_model(teacher, cfg.factorize, ck.input_shape,
                                         **factorize_options(cfg, self.round_ranks))
            self.echo(rep.table())
            before = evaluate(model, ds.x_test, ds.y_test, ds.mean, ds.std)
            metrics = train_model(model, ds, epochs=epochs, max_steps=steps, batch_size=cfg.batch_size,
                                  lr=1e-3, teacher=teacher, seed=cfg.seed, label="fine-tune")
            # trained in the depthwise form, a dictionary layer is emitted in the equivalent form the
            # target's measured kernel rates make fastest (edgefact.pipeline.factorize)
            forms = choose_dictionary_forms(model, ck.input_shape, self.target.core)
            for row in forms:
                self.echo(f"dictionary {row['path']}: {row['form']} form (estimated {row['unit']} "
                          + ", ".join(f"{f} {c:,}" for f, c in row["costs"].items()) + ")")
            save_checkpoint(tmp / "model.pt", model, ck.arch, ck.arch_args, ck.dataset, metrics,
                            extra={"factorize": {"method": cfg.factorize, "accuracy_before_finetune": before,
                                                 "dictionary_forms": forms}})
            (tmp / "factorize.json").write_text(json.dumps(dataclasses.asdict(rep) | {"dictionary_forms": forms},
                                                           indent=2, default=str))
            return {"accuracy": metrics.get("test_accuracy"), "accuracy_before_finetune": before}

        r = self._stage(spec, inputs, run)
        self.accuracy["factorized"] = r.info.get("accuracy")
        return r

    def _cluster(self, spec: StageSpec, inputs: dict[str, Path]) -> StageResult:
        cfg = self.cfg
        ckpt = inputs["model.pt"]
        mode = "per-channel" if cfg.cluster_per_channel else "per-tensor"

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

        r = self._stage(spec, inputs, run)
        self.accuracy["clustered"] = r.info.get("accuracy")
        return r

    def _onnx(self, spec: StageSpec, inputs: dict[str, Path]) -> StageResult:
        ckpt = inputs["model.pt"]

        def run(tmp: Path) -> dict[str, Any]:
            from edgefact.pipeline.from_checkpoint import export_onnx_from_checkpoint

            res = export_onnx_from_checkpoint(ckpt, tmp / "model.onnx", data=self.cfg.dataset)
            return {"max_abs_diff": getattr(res, "max_abs_diff", None)}

        return self._stage(spec, inputs, run)

    def _convert(self, spec: StageSpec, inputs: dict[str, Path]) -> StageResult:
        cfg = self.cfg
        onnx_path, ckpt = inputs["model.onnx"], inputs.get("model.pt")

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
            # name the artifact where it will be, not the stage's temporary directory
            self.echo(res.summary().replace(str(tmp), str(self.out / spec.dir_name(self.target.name))))
            info = {"float_accuracy": res.float_accuracy, "int8_accuracy": res.int8_accuracy,
                    "agreement": res.agreement, "ops": res.op_counts, "mean": list(ds.mean), "std": list(ds.std),
                    "test_samples": len(ds.y_test)}  # the float/int8 accuracies' sample size
            if ckpt is not None:
                info["cluster_check"] = self._verify_clusters(ckpt, tmp / "model.tflite")
            return info

        r = self._stage(spec, inputs, run)
        self.accuracy["int8"] = r.info.get("int8_accuracy")
        self.accuracy["test_samples"] = r.info.get("test_samples")  # for the accuracy intervals
        self.accuracy.setdefault("float", r.info.get("float_accuracy"))
        self.values.update(mean=r.info.get("mean"), std=r.info.get("std"))
        return r

    def _verify_clusters(self, ckpt: Path, tflite: Path) -> dict[str, Any] | None:
        from edgefact.pipeline.checkpoint import load_checkpoint

        ck = load_checkpoint(ckpt)
        info = ck.extra.get("cluster")
        if not info:
            return None
        from edgefact.export.cluster_check import check_sharing_survived
        from edgefact.pipeline.cluster import ClusterReport, verify_clustering

        rep = ClusterReport.from_dict(info)
        rows = verify_clustering(tflite, expected=rep.expected_k(), model=ck.build_model())
        return dict(check_sharing_survived(rows))

    def _copy(self, spec: StageSpec, inputs: dict[str, Path]) -> StageResult:
        src = inputs["source"]

        def run(tmp: Path) -> dict[str, Any]:
            shutil.copyfile(src, tmp / spec.outputs[0])
            return {"source": str(src)}

        return self._stage(spec, inputs, run)

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

    def _deploy(self, spec: StageSpec, inputs: dict[str, Path]) -> StageResult:
        cfg = self.cfg
        tflite = inputs["model.tflite"]
        mean, std = self.values["mean"], self.values["std"]

        def run(tmp: Path) -> dict[str, Any]:
            from edgefact.pipeline.deploy import deploy_tflite

            x_eval, y_eval = self._eval_inputs(tflite, mean, std)
            report = deploy_tflite(tflite, self.target, tmp, real_inputs=x_eval, run=not cfg.no_run,
                                   opt=cfg.opt, runner=self.device_runner, n_random=max(1, cfg.bitexact_inputs),
                                   timeout_s=cfg.timeout, write_report=False, pack=cfg.pack,
                                   runs=cfg.bench_runs, model_name=self._model_label())
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

        r = self._stage(spec, inputs, run)
        if "device_accuracy" in r.info:
            self.accuracy["device"] = r.info["device_accuracy"]
            self.accuracy["device_samples"] = r.info["device_samples"]
            self.accuracy["reference_on_device_samples"] = r.info["reference_accuracy"]
        return r

    def _model_label(self) -> str:
        from edgefact.models.zoo import DEFAULT_MODEL

        label = (self.cfg.model or DEFAULT_MODEL) if self.kind == "zoo" else Path(self.cfg.model).stem
        if self.cfg.factorize != "none":
            label += f"-{self.cfg.factorize}"
        if self.kind in ("zoo", "checkpoint") and self.cfg.cluster > 0:
            label += f"-k{self.cfg.cluster}"
        return label

    # -- the chain --------------------------------------------------------------------------
    def _seed_artifacts(self) -> dict[str, Path]:
        """The ``--model`` file under the artifact name its first stage reads."""
        if self.kind == "zoo":
            return {}
        src = _check_input_file(self.cfg.model)
        return {"model.onnx": src} if self.kind == "onnx" else {"source": src}

    def run(self) -> BuildResult:
        t0 = time.perf_counter()
        cfg = self.cfg
        self.echo(f"edgefact build: target {self.target.name}, model {cfg.model or '(default)'}, out {self.out}")
        artifacts = self._seed_artifacts()
        model_sha256: str | None = None  # of the .tflite this build's chain produced
        for spec in self.plan:
            inputs = spec.key_inputs(artifacts)
            if spec.action == "report":
                deployed = json.loads(inputs["deploy.json"].read_text())
                self._check_same_model(deployed, model_sha256)
                return self._report(deployed, t0)
            result = getattr(self, f"_{spec.action}")(spec, inputs)
            artifacts.update({name: result.path(name) for name in spec.outputs})
            if "model.tflite" in spec.outputs:
                model_sha256 = file_sha256(result.path("model.tflite"))
        raise EdgefactError("the build plan has no report stage")  # pragma: no cover - STAGES ends with one

    def _check_same_model(self, deployed: dict[str, Any], model_sha256: str | None) -> None:
        """The report names this build's model: refuse device figures of another model (e.g. a
        process that wrote into the same directory without the ``--out`` lock)."""
        got = (deployed.get("model") or {}).get("sha256")
        if model_sha256 is not None and got != model_sha256:
            raise EdgefactError(f"{self.out}: the deploy stage measured another model (sha256 {str(got)[:12]}) than "
                                f"the one this build converted ({model_sha256[:12]}): something else wrote into "
                                "this directory during the build; rerun it")

    def _report(self, report: dict[str, Any], t0: float) -> BuildResult:
        from edgefact.report.render import json_summary, summary_line, write_reports

        report["accuracy"] = {k: v for k, v in self.accuracy.items() if v is not None}
        report["config"] = {k: v for k, v in dataclasses.asdict(self.cfg).items() if k != "extra"}
        report_dir = self.out / f"report-{self.target.name}"
        stages = self.runner.summary()
        stages.append({"name": "report", "seconds": 0.0, "cached": False})
        report["stages"] = stages
        from edgefact.pipeline.stages import tool_version

        report["tools"] = {t.removeprefix("cmd:"): tool_version(t)
                           for t in dict.fromkeys(t for spec in self.plan for t in spec.tools)}
        if self.cfg.extra.get("baseline"):  # `edgefact build --baseline DIR`: a derived variant's ratios
            from edgefact.report.derived import baseline_section
            from edgefact.report.schema import load_report

            base = str(self.cfg.extra["baseline"])
            report["baseline"] = baseline_section(report, load_report(base), base)
        write_reports(report, report_dir)
        # the newest build's report also at the top of DIR, for `edgefact compare DIR ...`
        write_reports(report, self.out)
        seconds = time.perf_counter() - t0
        n_cached = sum(1 for s in stages if s["cached"])
        n = len(self.plan)
        self.echo(f"[{n}/{n}] report     written to {report_dir} "
                  f"({n_cached} of {len(stages) - 1} stages cached, {seconds:.1f} s in all)")
        current_output().result(summary_line(report), json_summary(report))
        return BuildResult(self.out, report, report_dir, stages, seconds)


def run_build(cfg: BuildConfig, **kw: Any) -> BuildResult:
    return Build(cfg, **kw).run()
