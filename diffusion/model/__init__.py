"""The ε-prediction model and how it is made: the U-Net, noise schedules, Fashion-MNIST, training.

`unet` (the network), `schedule` (the forward process, pure functions), `data` (the IDX reader and
the model's pixel range), `train` (resumable training), `checkpoints` (run directories and the
shipped model format), `hardware_aware` (training under the chip's statistical model) and `card`
(the shipped model's MODEL_CARD.md). Nothing here samples or scores images.
"""
