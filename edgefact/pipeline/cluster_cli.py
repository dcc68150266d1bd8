"""``edgefact cluster``: k-means weight sharing of a checkpoint, fine-tuned, optionally verified on int8."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from edgefact.common_cli import CONTEXT, FiniteFloatRange, examples, opt
from edgefact.errors import EdgefactError
from edgefact.export.tflite_convert import DEFAULT_CALIB_SAMPLES, DEFAULT_MIN_AGREEMENT
from edgefact.pipeline.cluster import INITS, MODES, ClusterConfig


def run_cluster(
    checkpoint: Path,
    out: Path,
    cfg: ClusterConfig,
    tflite: Path | None = None,
    data: str | None = None,
    max_train: int | None = None,
    max_steps: int | None = None,
    calib_samples: int = DEFAULT_CALIB_SAMPLES,
    min_agreement: float = DEFAULT_MIN_AGREEMENT,
    log: Any = None,
) -> dict[str, Any]:
    """Cluster ``checkpoint`` into ``out`` (same checkpoint format, cluster info in ``extra``).

    With ``tflite`` the clustered model is also converted to int8 and every clustered tensor is
    checked to hold at most K distinct int8 values per output channel (an error otherwise).
    Returns the ``extra["cluster"]`` dict.
    """
    from edgefact.pipeline.checkpoint import load_checkpoint, save_checkpoint
    from edgefact.pipeline.cluster import cluster_model, format_table, verify_clustering
    from edgefact.pipeline.data import Dataset
    from edgefact.pipeline.from_checkpoint import dataset_for_checkpoint, export_model_to_tflite

    say = log or click.echo
    ckpt = load_checkpoint(checkpoint)
    model = ckpt.build_model()
    ds = dataset_for_checkpoint(ckpt, data)
    if max_train is not None:
        ds = Dataset(ds.name, ds.x_train[:max_train], ds.y_train[:max_train], ds.x_test, ds.y_test,
                     ds.classes, list(ds.mean), list(ds.std))
    clustered, report = cluster_model(model, ds, cfg, max_steps=max_steps, log=say)
    info: dict[str, Any] = report.to_dict()
    if tflite is not None:
        res = export_model_to_tflite(clustered, ds, tflite, calib_samples=calib_samples, min_agreement=min_agreement)
        report.acc_int8 = res.tflite.int8_accuracy
        info["acc_int8"] = report.acc_int8
        rows = verify_clustering(tflite, report.expected_k(), clustered)
        info["tflite"] = {"path": str(tflite), "weights": [asdict(r) for r in rows]}
        say(format_table(rows, report))
        bad = [r for r in rows if not r.ok]
        if bad:
            raise EdgefactError(
                "clustering did not survive int8 conversion: "
                + "; ".join(f"{r.layer} holds {r.max_distinct} > K={r.k} int8 values in a channel" for r in bad)
                + ". Use --mode per-channel, or keep BatchNorm after (not before) each clustered conv"
            )
    else:
        for lc in report.layers:
            say(f"  {lc.name:<28} {lc.kind:<9} K={lc.k} {lc.status} {lc.reason}".rstrip())
        say(f"accuracy: before {report.acc_before:.4f}  k-means {report.acc_clustered:.4f}  "
            f"fine-tuned {report.acc_finetuned:.4f}")
    metrics = dict(ckpt.metrics) | {"cluster_accuracy": report.acc_finetuned}
    if report.acc_int8 is not None:
        metrics["int8_accuracy"] = report.acc_int8
    save_checkpoint(out, clustered, ckpt.arch, ckpt.arch_args, ckpt.dataset, metrics=metrics,
                    extra=dict(ckpt.extra) | {"cluster": info}, transforms=ckpt.transforms)
    say(f"clustered checkpoint -> {out}")
    return info


@click.command(name="cluster", context_settings=CONTEXT)
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=Path))
@opt("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Clustered checkpoint to write.")
@opt("--clusters", "--cluster", dest="k", default=16, show_default=True, type=click.IntRange(2, 256),
     help="k-means clusters (shared values) per table (K).")
@opt("--cluster-mode", "--mode", dest="mode", type=click.Choice(MODES), default="per-channel", show_default=True)
@click.option("--init", type=click.Choice(INITS), default="kmeans++", show_default=True, help="k-means initialization.")
@opt("--epochs", default=2.0, show_default=True, type=FiniteFloatRange(0),
     help="Fine-tuning epochs (0: none); fractions train part of an epoch.")
@opt("--lr", default=1e-3, show_default=True, type=FiniteFloatRange(0, min_open=True), help="Fine-tuning learning rate.")
@click.option("--max-layer-drop", default=2.0, show_default=True, type=float,
              help="Accuracy points one clustered layer may cost before its K is raised (2K, 4K) or it is left out.")
@click.option("--no-distill", is_flag=True, help="Fine-tune on labels only (default: also distil from the unclustered model).")
@click.option("--tflite", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the int8 .tflite and verify <= K distinct int8 values per channel.")
@opt("--calib-samples", default=DEFAULT_CALIB_SAMPLES, show_default=True, type=click.IntRange(1))
@opt("--min-agreement", default=DEFAULT_MIN_AGREEMENT, show_default=True, type=FiniteFloatRange(0, 1))
@opt("--train-samples", "--max-train", dest="max_train", default=None, type=click.IntRange(100),
     help="Train on the first N training samples only.  [default: all]")
@opt("--dataset", "--data", dest="data", default=None, help="Data set name or path.  [default: the checkpoint's]")
@opt("--seed", default=0, show_default=True, type=int)
@examples("edgefact cluster fm.pt -k 16 --out fm-k16.pt",
          "edgefact cluster fm.pt -k 4 --cluster-mode per-tensor --tflite fm-k4.tflite --out fm-k4.pt")
def cluster_cmd(
    checkpoint: Path, out: Path, k: int, mode: str, init: str, epochs: float, lr: float, max_layer_drop: float,
    no_distill: bool, tflite: Path | None, calib_samples: int, min_agreement: float, max_train: int | None,
    data: str | None, seed: int,
) -> None:
    """k-means weight sharing with fine-tuning (Han et al. 2015), verified on the int8 model."""
    import math

    cfg = ClusterConfig(k=k, mode=mode, init=init, epochs=math.ceil(epochs), lr=lr, max_layer_drop=max_layer_drop,
                        distill=not no_distill, seed=seed)
    # a fractional epoch: whole epochs rounded up, the steps capped (as `edgefact build` does)
    fractional = bool(epochs) and not float(epochs).is_integer()
    run_cluster(checkpoint, out, cfg, tflite=tflite, data=data, max_train=max_train,
                calib_samples=calib_samples, min_agreement=min_agreement,
                max_steps=_steps_for(checkpoint, data, max_train, epochs, cfg) if fractional else None)


def _steps_for(checkpoint: Path, data: str | None, max_train: int | None, epochs: float, cfg: ClusterConfig) -> int:
    """Optimizer steps of ``epochs`` (fractional) epochs over the (capped) training set."""
    import math

    from edgefact.pipeline.checkpoint import load_checkpoint
    from edgefact.pipeline.from_checkpoint import dataset_for_checkpoint

    ds = dataset_for_checkpoint(load_checkpoint(checkpoint), data)
    n = len(ds.y_train[:max_train])
    return max(1, math.ceil(epochs * math.ceil(n / cfg.batch_size)))
