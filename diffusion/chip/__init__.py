"""The trained network on the emulated chip: the chip backend, its torch engines, and their checks.

`backend` (`ChipNetwork`: every Conv2d and Linear programmed onto crossbars), the two engines that
read a programmed layer — `crossbar_torch` (the exact path, held to device/'s numpy reference) and
`crossbar_statistical` (the reduced-order model) — `cache` (programmed chips on disk),
`torch_device` (``SPINDIFF_DEVICE``), `emulation_check` (statistical against exact, measured),
`engine_bench` and `aihwkit_reference` (``spindiff bench crossbar``). torch lives here so that
device/ never imports it.
"""
