"""``spindiff profiles``, ``rng-test``, ``cost`` and ``physics-check``: the emulator's own commands.

They use device/ alone (no model, no torch), imported inside each command function.
"""

from __future__ import annotations

import sys
import time

from app.cli.output import fail, print_json


# --- profiles ---------------------------------------------------------------------------------------
def cmd_profiles(args) -> int:
    from device import profiles

    if args.action == "show":
        if not args.name:
            return fail("profiles show needs a profile NAME")
        print(profiles.get_profile(args.name).to_json())
        return 0
    if args.json:
        print_json([{"name": p.name, "description": p.description, "hash": p.hash} for p in profiles.list_profiles()])
        return 0
    width = max(len(p.name) for p in profiles.list_profiles())
    for p in profiles.list_profiles():
        print(f"{p.name:<{width}}  {p.description}")
    return 0


def add_profiles(sub) -> None:
    p = sub.add_parser("profiles", help="list hardware profiles, or show one as JSON")
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("name", nargs="?")
    p.add_argument("--json", action="store_true", help="list as JSON")
    p.set_defaults(func=cmd_profiles)


# --- rng-test ---------------------------------------------------------------------------------------
def cmd_rng_test(args) -> int:
    from device import profiles, randomness

    profile = profiles.get_profile(args.profile)
    if args.bits < 1000:
        return fail(f"--bits must be at least 1000, got {args.bits}")
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
    print_json(
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


def add_rng_test(sub) -> None:
    p = sub.add_parser("rng-test", help="NIST SP 800-22 and normality tests of a profile's MTJ random source")
    p.add_argument("--profile", default="vcma-default")
    p.add_argument("--bits", type=int, default=1_000_000)
    p.add_argument("--samples", type=int, default=1_000_000, help="Gaussian samples for the KS test")
    p.add_argument("--seed", type=int, default=0, help="chip seed (population, calibration, streams)")
    p.add_argument("--alpha", type=float, default=0.01)
    p.add_argument("--json", action="store_true", help="(output is always one JSON object)")
    p.set_defaults(func=cmd_rng_test)


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
        print_json(report)
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


def add_cost(sub) -> None:
    p = sub.add_parser("cost", help="energy / area / latency report of one request on a profile's chip")
    p.add_argument("--profile", default="vcma-default")
    p.add_argument("--images", type=int, default=1)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_cost)


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
        print_json({"rows": [r.to_dict() for r in rows], "worst_abs_difference": agreement.worst_difference(rows)})
    else:
        print(agreement.format_table(rows))
        print(f"worst |compact − macrospin| = {agreement.worst_difference(rows):.3f}")
    return 0


def add_physics_check(sub) -> None:
    p = sub.add_parser("physics-check", help="compact switching model vs stochastic-LLG macrospin")
    p.add_argument("--trials", type=int, default=4000)
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_physics_check)
