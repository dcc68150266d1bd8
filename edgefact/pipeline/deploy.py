"""Deploy int8 .tflite models: generate C, build firmware, run it, check it against TFLM, report.

``deploy_tflite`` is what ``edgefact build`` runs in its deploy stage; ``deploy_many`` puts several
models in one firmware (test suites and benchmarks). Both only orchestrate; the jobs live beside:

* input selection and the firmware application: :mod:`edgefact.pipeline.app`;
* C generation: :mod:`edgefact.export.codegen`;
* the fit check: :func:`edgefact.firmware.fit.check_fits` (before the build, from the generated sizes);
* firmware build and ELF memory: :mod:`edgefact.firmware`;
* the run: the runner (:mod:`edgefact.targets.runners`);
* bit-exactness against TFLM: :mod:`edgefact.pipeline.bitexact`;
* the report document: :mod:`edgefact.report.assemble`.

Target and runner may be given as names (the Python API is a boundary too); they are resolved
once, at entry, and passed on as objects.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export.codegen import GeneratedModel, generate_c
from edgefact.export.micronet import micronet_score
from edgefact.export.tflite_model import load_tflite
from edgefact.firmware.fit import check_fits
from edgefact.fsutil import atomic_write_bytes
from edgefact.pipeline.app import DEFAULT_RANDOM_INPUTS, AppModel, flatten_inputs, select_inputs, write_app
from edgefact.pipeline.bitexact import compare_with_tflm, crc32_hex, device_outputs, tflm_outputs
from edgefact.report.assemble import DeployFigures, LayerFigures, RunFigures, TensorFigures, assemble_report
from edgefact.targets import Target, get_target
from edgefact.targets.runners.base import Runner, RunResult

#: flash the firmware template and kernel library take besides the model (a conservative floor
#: used by the pre-build estimate; the exact figure comes from the linked ELF)
CODE_FLOOR_BYTES = 8 * 1024

__all__ = ["CODE_FLOOR_BYTES", "DEFAULT_RANDOM_INPUTS", "check_fits", "deploy_many", "deploy_tflite",
           "estimate_footprint", "resolve_runner", "resolve_target"]


# -- names to objects, once -------------------------------------------------------------------


def resolve_target(target: Target | str) -> Target:
    """The :class:`Target` of a core or board name (a Target passes through)."""
    return target if isinstance(target, Target) else get_target(target)


def resolve_runner(target: Target, runner: Runner | str | None = None,
                   options: dict[str, Any] | None = None) -> Runner:
    """The runner object: ``runner`` itself, the named runner with ``options``, or the target's default."""
    if isinstance(runner, Runner):
        if options:
            raise EdgefactError("runner options go to get_runner(); pass them with a runner name, not a Runner")
        return runner
    from edgefact.targets.runners import get_runner
    from edgefact.targets.runners.base import default_runner_for

    return get_runner(runner or default_runner_for(target), **dict(options or {}))


def _needs_real_part(runner: Runner) -> bool:
    """Whether the runner talks to a real board (firmware built for the real part)."""
    return runner.caps.needs_real_part


def _default_warmup(runner: Runner) -> int | None:
    """Untimed runs before the timed one when not given: none under QEMU (instruction counts do
    not depend on caches), the template's default elsewhere (None)."""
    return 0 if runner.caps.exact_counts else None


# -- pre-build fit check ----------------------------------------------------------------------


def estimate_footprint(gen: GeneratedModel, n_inputs: int) -> tuple[int, int]:
    """Pre-build lower bounds: (flash, RAM) bytes = weights + inputs + code floor, arena + state
    (variables kept between invocations) + outputs."""
    g = gen.graph
    in_bytes = sum(g.tensors[t].nbytes for t in g.inputs)
    out_bytes = sum(g.tensors[t].nbytes for t in g.outputs)
    flash = gen.const_bytes + n_inputs * in_bytes + CODE_FLOOR_BYTES
    ram = gen.arena_bytes + gen.plan.state_bytes + max(n_inputs, 1) * out_bytes
    return flash, ram


# -- build and run ----------------------------------------------------------------------------


def _build(target: Target, runner: Runner, apps: Sequence[AppModel], app_sources: Sequence[Path], out: Path,
           opt: str, warmup: int | None, runs: int | None) -> Path:
    """Build the firmware of ``apps`` (generated code + application + kernels) for ``runner``."""
    from edgefact.firmware.build import build_firmware
    from edgefact.firmware.kernels import kernel_include_dir, kernel_sources

    regions = max(sum(len(a.gen.graph.layers) for a in apps), sum(a.gen.num_regions for a in apps))
    defines: dict[str, str | int | None] = {"EF_MAX_REGIONS": max(64, regions)}
    if warmup is None:
        warmup = _default_warmup(runner)
    if warmup is not None:
        defines["EF_BENCH_WARMUP"] = int(warmup)
    if runs is not None:
        defines["EF_BENCH_RUNS"] = max(1, int(runs))  # the report keeps the fastest run
    sources = [p for a in apps for p in a.gen.sources]
    gen_dirs = list(dict.fromkeys(a.gen.files["model.c"].parent for a in apps))
    c_sources = [s for s in app_sources if s.suffix == ".c"]
    include = [*gen_dirs, *dict.fromkeys(s.parent for s in app_sources), kernel_include_dir()]
    # the board budget is checked on the deployable figures (without the harness), by the caller
    return build_firmware(target, [*sources, *c_sources, *kernel_sources()], include, out / "build",
                          defines=defines, opt=opt, hardware=_needs_real_part(runner), check_fit=False)


def _run(runner: Runner, elf: Path, target: Target, timeout_s: float) -> RunResult:
    result = runner.run(elf, target, timeout_s=timeout_s)
    if not result.ok:
        raise EdgefactError(f"firmware run on {target.name} failed (exit {result.exit_status}, status "
                            f"{result.log.status}); log tail:\n" + "\n".join(result.raw_output.splitlines()[-15:]))
    return result


# -- one model --------------------------------------------------------------------------------


def _tensor_figures(t: Any) -> TensorFigures:
    return TensorFigures(tuple(int(d) for d in t.shape), float(t.scale) if t.scale > 0 else None,
                         int(t.zero_point), t.type_name.lower())


def _layer_figures(gen: GeneratedModel) -> list[LayerFigures]:
    rows = []
    g = gen.graph
    for layer in g.layers:
        packed = layer.packed.describe() if layer.packed is not None else None
        # activation bytes the layer touches: its inputs, its output and its scratch
        act = sum(g.tensors[t].nbytes for t in layer.inputs) + g.tensors[layer.output].nbytes + layer.scratch_bytes
        rows.append(LayerFigures(layer.index, layer.name, layer.op,
                                 tuple(tuple(int(d) for d in s) for s in layer.input_shapes),
                                 tuple(int(d) for d in layer.output_shape), int(layer.macs), int(layer.params),
                                 int(layer.weight_bytes), packed, kernel=layer.kernel or None,
                                 activation_bytes=int(act)))
    return rows


def _footprint(elf: Path, gen: GeneratedModel, app_sources: Sequence[Path], peak_stack: int | None) -> Any:
    """The ELF's flash/RAM by component (:mod:`edgefact.firmware.footprint`)."""
    from edgefact.firmware.footprint import footprint_split
    from edgefact.firmware.kernels import kernel_sources

    return footprint_split(elf, data_stems=[gen.files["model_data.c"].stem], code_stems=[gen.files["model.c"].stem],
                           harness_stems=[p.stem for p in app_sources],
                           kernel_stems=[p.stem for p in kernel_sources()], peak_stack=peak_stack)


def deploy_tflite(tflite_path: str | Path, target: Target | str, out_dir: str | Path,
                  inputs: np.ndarray | list[np.ndarray] | None = None,
                  run: bool = True, opt: str = "-O2", runner: Runner | str | None = None,
                  real_inputs: np.ndarray | None = None, n_random: int = DEFAULT_RANDOM_INPUTS,
                  timeout_s: float = 300.0, log_outputs: bool = True, write_report: bool = True,
                  model_name: str | None = None, warmup: int | None = None, pack: str = "auto",
                  runner_options: dict[str, Any] | None = None, runs: int | None = None,
                  kernels: dict[int, str] | None = None) -> dict[str, Any]:
    """Generate, build, (run, compare with TFLM) and report; return the report dict.

    ``target``: a Target or a core/board name. ``runner``: a Runner, a runner name (built with
    ``runner_options``, e.g. ``port``/``baud`` for serial, ``gdb_server`` for gdb) or None for the
    target's default; a runner that talks to a real board gets firmware built for the real part.
    ``inputs``: int8 (or float for a float-boundary model) samples, shape (N, *input shape without
    the batch axis), or one such array per input of a multi-input model. Default: ``n_random``
    random inputs, followed by ``real_inputs`` if given (single-input models).
    ``warmup``: untimed runs before the timed one; default 0 under QEMU (instruction counts do
    not depend on caches), the template's default elsewhere. ``runs``: timed runs (the fastest
    is reported).
    ``pack``: "auto" | "always" | "never", clustered filters stored as indices + LUTs
    (:mod:`edgefact.export.packing`); packed layers' rows carry ``packed`` and their ``count``
    includes the decode (also given alone as ``packed.decode_count``).
    ``kernels``: {operator index: kernel} runs those layers on another kernel their registry
    entry allows (e.g. a shift layer as the depthwise convolution it replaces, to measure it).
    With ``write_report`` the report is also written as report.json/md/html into ``out_dir``;
    with ``run`` the device's outputs of every embedded input go to ``out_dir/outputs.npy``.
    """
    from edgefact.export.lowering import lower
    from edgefact.export.reference import OracleCrashError, OracleRunError, tflm_arena_bytes

    tgt = resolve_target(target)
    run_with = resolve_runner(tgt, runner, runner_options)
    path = Path(tflite_path)
    model = load_tflite(path)
    lower(model, tgt)  # what the generator refuses (an operator, a tensor type) is said first, in its one line
    name = model_name or path.stem
    out = Path(out_dir)
    inputs = select_inputs(model, inputs, n_random, real_inputs)

    unchecked: str | None = None  # why the reference cannot run this model, when it cannot
    try:
        tflm_arena: int | None = tflm_arena_bytes(path)
    except (OracleCrashError, OracleRunError) as exc:
        tflm_arena, unchecked = None, str(exc)
    gen = generate_c(model, out / "gen", target=tgt, model_name=path.name, tflm_arena=tflm_arena,
                     pack=pack, kernels=kernels)
    app = AppModel(gen, "ef_model", flatten_inputs(gen, inputs), "outputs", name)
    # the budget is the deployable model's: the harness (embedded inputs, output buffers) is not
    check_fits(tgt, *estimate_footprint(gen, 0), what=f"model {name}")
    app_sources = write_app([app], out / "app", log_outputs=log_outputs)
    elf = _build(tgt, run_with, [app], app_sources, out, opt, warmup, runs)

    elf_memory = None
    if not tgt.is_host:
        from edgefact.firmware.elf import memory_report

        rep = memory_report(elf)
        elf_memory = rep.as_dict() | {"flash_bytes": rep.flash_bytes, "ram_bytes": rep.ram_bytes}

    run_figures = None
    bitexact = None
    if run:
        result = _run(run_with, elf, tgt, timeout_s)
        if unchecked is None:
            try:
                bitexact = compare_with_tflm(path, gen, inputs, result)
            except (OracleCrashError, OracleRunError) as exc:  # e.g. TFLM on int64 ARG_MAX indices
                unchecked = str(exc)
        if unchecked is not None:
            bitexact = {"reference": "tflm", "checked": False, "equal": None, "inputs": app.n_inputs,
                        "reason": unchecked}
            warnings.warn(f"bit-exactness not checked: {unchecked}", stacklevel=2)
        device_out = device_outputs(gen, app.n_inputs, result)
        if device_out is not None:
            # what the device computed for every embedded input, for on-device accuracy
            buf = io.BytesIO()
            np.save(buf, device_out)
            atomic_write_bytes(out / "outputs.npy", buf.getvalue())
        clock = (result.log.hello or {}).get("clock_hz") if _needs_real_part(run_with) else None
        run_figures = RunFigures(dict(result.regions), result.total, result.unit, result.peak_stack,
                                 int(clock) if clock else None)

    from edgefact.report.assemble import memory_section

    footprint = None
    if elf_memory is not None:
        fp = _footprint(elf, gen, app_sources, run_figures.peak_stack if run_figures else None)
        footprint = fp.as_dict()
        check_fits(tgt, fp.deployable_flash, fp.deployable_ram, measured=True,
                   what=f"model {name} (deployable: without the test harness, stack at its measured peak)")
    g = gen.graph
    report = assemble_report(DeployFigures(
        target=tgt.as_dict(), target_unit=tgt.unit, model_name=name, model_path=str(path.resolve()),
        model_sha256=model.sha256, model_input=_tensor_figures(g.tensors[g.inputs[0]]),
        model_output=_tensor_figures(g.tensors[g.outputs[0]]), layers=_layer_figures(gen),
        total_macs=int(g.total_macs), total_params=int(g.total_params), total_weight_bytes=int(g.total_weight_bytes),
        arena_bytes=int(gen.arena_bytes), memory=memory_section(tflm_arena, elf_memory),
        flash_bytes=elf_memory["flash_bytes"] if elf_memory else None,
        ram_bytes=elf_memory["ram_bytes"] if elf_memory else None,
        run=run_figures, bitexact=bitexact, footprint=footprint,
        artifacts={"elf": str(elf), "generated": str(out / "gen"), "plan": str(gen.files["plan.txt"])}))
    mn = micronet_score(gen.graph)
    report["micronet"] = {"score": mn.score, "reference": mn.reference, "storage": mn.storage, "ops": mn.ops,
                          "reference_params": mn.reference_params, "reference_ops": mn.reference_ops}
    if write_report:
        from edgefact.report.render import write_reports

        write_reports(report, out)
    return report


# -- several models in one firmware -----------------------------------------------------------


def deploy_many(models: list[tuple[str, str | Path, Any]], target: Target | str, out_dir: str | Path,
                opt: str = "-O2", runner: Runner | str | None = None, timeout_s: float = 300.0,
                pack: str = "auto", runner_options: dict[str, Any] | None = None,
                warmup: int | None = None) -> dict[str, dict[str, Any]]:
    """Several models in ONE firmware (one build per target), each on its own inputs.

    ``models``: (name, tflite path, inputs) with inputs as for :func:`deploy_tflite`. Every model
    gets its own symbol prefix and arena. The firmware logs one checksum per model; the result
    maps each name to ``{"checksum", "reference_checksum", "equal", "inputs", "target"}``
    (TFLM on the host gives the reference). For test suites and benchmarks: one build instead of
    one per model.
    """
    tgt = resolve_target(target)
    run_with = resolve_runner(tgt, runner, runner_options)
    out = Path(out_dir)
    apps: list[AppModel] = []
    refs: dict[str, str] = {}
    base = 0
    for k, (name, path, inputs) in enumerate(models):
        prefix = f"ef_m{k}"
        gen = generate_c(path, out / "gen", target=tgt, model_name=name, prefix=prefix,
                         profile_base=base, pack=pack)
        base += gen.num_regions
        apps.append(AppModel(gen, prefix, flatten_inputs(gen, inputs), prefix, name))
        refs[name] = crc32_hex(tflm_outputs(Path(path), gen, inputs).tobytes())
    app_sources = write_app(apps, out / "app", log_outputs=False)
    elf = _build(tgt, run_with, apps, app_sources, out, opt, warmup, None)
    result = _run(run_with, elf, tgt, timeout_s)
    res: dict[str, dict[str, Any]] = {}
    for app, (name, _path, _inputs) in zip(apps, models, strict=True):
        got = result.log.checksums.get(app.log_name)
        res[name] = {"checksum": got, "reference_checksum": refs[name], "equal": got == refs[name],
                     "inputs": app.n_inputs, "target": tgt.name}
    return res
