"""The ``spindiff`` command line.

The CLI lives in app/ with the service, so this module must stay importable without torch or numba:
every command imports the emulator lazily, inside its own function (docs/architecture.md: the API process
never loads them). Commands that print JSON print exactly one JSON object on stdout; progress and
human-readable notes go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from app.cli_diffusion import add_bench_sampling, add_diffusion_parsers


def _print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def _fail(message: str) -> int:
    print(f"spindiff: error: {message}", file=sys.stderr)
    return 2


# --- profiles ---------------------------------------------------------------------------------------
def cmd_profiles(args) -> int:
    from device import profiles

    if args.action == "show":
        if not args.name:
            return _fail("profiles show needs a profile NAME")
        print(profiles.get_profile(args.name).to_json())
        return 0
    if args.json:
        _print_json([{"name": p.name, "description": p.description, "hash": p.hash} for p in profiles.list_profiles()])
        return 0
    width = max(len(p.name) for p in profiles.list_profiles())
    for p in profiles.list_profiles():
        print(f"{p.name:<{width}}  {p.description}")
    return 0


# --- rng-test ---------------------------------------------------------------------------------------
def cmd_rng_test(args) -> int:
    from device import profiles, randomness

    profile = profiles.get_profile(args.profile)
    if args.bits < 1000:
        return _fail(f"--bits must be at least 1000, got {args.bits}")
    started = time.perf_counter()
    source = profiles.make_random_source(profile, args.seed)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    bits = source.bits(args.bits)
    bits_s = time.perf_counter() - started
    print(
        f"[rng-test] {profile.name}: {args.bits} bits in {bits_s:.3f} s; running NIST SP 800-22 tests", file=sys.stderr
    )
    results = randomness.run_nist_suite(bits, alpha=args.alpha)
    samples = source.gaussian(args.samples, dtype="float64")
    check = randomness.normality_checks(samples)
    _print_json(
        {
            "profile": profile.name,
            "profile_hash": profile.hash,
            "seed": args.seed,
            "bits": int(args.bits),
            "alpha": args.alpha,
            "tests": [{"name": r.name, "p_value": r.p_value, "passed": r.passed} for r in results],
            "all_passed": all(r.passed for r in results),
            "gaussian": {
                "method": profile.rng.gaussian_method,
                "bits_per_sample": source.bits_per_sample,
                "samples": int(args.samples),
                "ks_p": check.ks_p,
                "kurtosis": check.kurtosis,
                "kurtosis_p": check.kurtosis_p,
                "mean": check.mean,
                "std": check.std,
                "passed": bool(check.ks_p >= args.alpha),
            },
            "bias": float(bits.mean() - 0.5),
            # the emulated chip's output rate: N devices / cycle time (halved with XOR)
            "bits_per_second": source.hardware_bit_rate,
            # how fast this machine emulates it (wall clock, includes nothing but bit generation)
            "emulator_bits_per_second": args.bits / bits_s if bits_s > 0 else None,
            "calibration_seconds": build_s,
            "array": source.summary(),
            "counters": source.counters.as_dict(),
        }
    )
    return 0


# --- bench --------------------------------------------------------------------------------------------
def cmd_bench(args) -> int:
    if args.what == "rng":
        from device.benchmarks import bench_rng

        result = bench_rng(args.profile, args.samples, args.repeats)
    elif args.what == "sampling":
        from app.cli_diffusion import cmd_bench_sampling

        return cmd_bench_sampling(args)
    elif args.what == "crossbar":
        from device.benchmarks import bench_crossbar

        names = args.profiles.split(",") if args.profiles else None
        print("[bench crossbar] programming and timing a 512x512 layer per profile", file=sys.stderr)
        result = bench_crossbar(names, size=args.size, batch=args.batch, repeats=args.repeats)
        from diffusion.engine_bench import bench_engines

        engines = {
            r["profile"]: r
            for r in bench_engines([row["profile"] for row in result["profiles"]], args.size, args.batch, args.repeats)
        }
        for row in result["profiles"]:
            row.update({k: v for k, v in engines[row["profile"]].items() if k != "profile"})
        result["aihwkit"] = _aihwkit_comparison(args)
        if result["aihwkit"].get("available"):
            tile = result["aihwkit"]["matmul_seconds"]
            for row in result["profiles"]:
                row["ratio_crossbar_over_aihwkit"] = row["matmul_seconds"] / tile
                row["ratio_statistical_over_aihwkit"] = row["statistical_seconds"] / tile
    else:
        return _fail(f"unknown benchmark {args.what!r}")
    if args.json:
        _print_json(result)
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    return 0


def _aihwkit_comparison(args) -> dict:
    """IBM aihwkit's analog inference tile on the same layer, when the optional package is installed."""
    import importlib.util

    if importlib.util.find_spec("aihwkit") is None:
        return {"available": False, "reason": "aihwkit is not installed (optional extra 'bench'; see README)"}
    from diffusion.aihwkit_reference import bench_aihwkit  # torch lives in diffusion/, never in device/

    return bench_aihwkit(size=args.size, batch=args.batch, repeats=args.repeats)


# --- cost ---------------------------------------------------------------------------------------------
def cmd_cost(args) -> int:
    from device import chip, profiles
    from device.cost_uncertainty import ratio_ranges

    profile = profiles.get_profile(args.profile)
    print(f"[cost] {profile.name}: example workload, {args.images} image(s) x {args.steps} steps", file=sys.stderr)
    report = chip.example_workload(profile, images=args.images, steps=args.steps, seed=args.seed)
    tech = profile.technology
    report["ratio_ranges"] = ratio_ranges(
        report, post_layout_factor=tech.post_layout_factor, post_layout_applied=tech.apply_post_layout_factor
    )
    report["profile"] = profile.name
    report["profile_hash"] = profile.hash
    if args.json:
        _print_json(report)
    else:
        for component, joules in report["energy_j"].items():
            print(f"{component:>16}: {joules:.3e} J")
        print(f"{'total':>16}: {report['energy_total_j']:.3e} J per request, area {report['area_total_mm2']:.3f} mm²")
        for key, spread in report["ratio_ranges"]["energy_per_image_gpu_over_chip"].items():
            print(
                f"{key + ' / chip':>16}: {spread['headline']:.3g}x (range {spread['low']:.3g}-{spread['high']:.3g}x over ADC model, "
                "GPU utilisation, post-layout factor)"
            )
    return 0


# --- physics-check -------------------------------------------------------------------------------------
def cmd_physics_check(args) -> int:
    from device import agreement, mtj

    params = mtj.MTJParameters()
    rows = []
    for sweep in agreement.STANDARD_SWEEPS:
        print(
            f"[physics-check] sweep {sweep.name}: {len(sweep.voltages)} voltages × {args.trials} trials",
            file=sys.stderr,
        )
        rows += agreement.compare(params, sweep, n_trials=args.trials, seed=args.seed)
    if args.json:
        _print_json({"rows": [r.to_dict() for r in rows], "worst_abs_difference": agreement.worst_difference(rows)})
    else:
        print(agreement.format_table(rows))
        print(f"worst |compact − macrospin| = {agreement.worst_difference(rows):.3f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spindiff", description="Diffusion on an emulated VCMA-MTJ chip.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("profiles", help="list hardware profiles, or show one as JSON")
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("name", nargs="?")
    p.add_argument("--json", action="store_true", help="list as JSON")
    p.set_defaults(func=cmd_profiles)

    p = sub.add_parser("rng-test", help="NIST SP 800-22 and normality tests of a profile's MTJ random source")
    p.add_argument("--profile", default="vcma-default")
    p.add_argument("--bits", type=int, default=1_000_000)
    p.add_argument("--samples", type=int, default=1_000_000, help="Gaussian samples for the KS test")
    p.add_argument("--seed", type=int, default=0, help="chip seed (population, calibration, streams)")
    p.add_argument("--alpha", type=float, default=0.01)
    p.add_argument("--json", action="store_true", help="(output is always one JSON object)")
    p.set_defaults(func=cmd_rng_test)

    p = sub.add_parser("bench", help="benchmarks that print ratios measured side by side in one run")
    p.add_argument("what", choices=["rng", "crossbar", "sampling"])
    p.add_argument("--profile", default="vcma-default", help="rng: the profile to benchmark")
    p.add_argument("--profiles", help="crossbar: comma-separated profiles (default: all but vcma-uncalibrated)")
    p.add_argument("--samples", type=int, default=4_000_000, help="rng: Gaussian samples per timing")
    p.add_argument("--size", type=int, default=512, help="crossbar: layer size (size x size)")
    p.add_argument("--batch", type=int, default=64, help="crossbar: input vectors per matmul; sampling: images")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", action="store_true")
    add_bench_sampling(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("cost", help="energy / area / latency report of one request on a profile's chip")
    p.add_argument("--profile", default="vcma-default")
    p.add_argument("--images", type=int, default=1)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_cost)

    from app.cli_service import add_service_parsers
    from app.cli_train import add_train_parser

    add_train_parser(sub)
    add_diffusion_parsers(sub)
    add_service_parsers(sub)

    p = sub.add_parser("physics-check", help="compact switching model vs stochastic-LLG macrospin")
    p.add_argument("--trials", type=int, default=4000)
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_physics_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from device.errors import SpindiffError

    try:
        return args.func(args)
    except SpindiffError as error:
        return _fail(str(error))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
