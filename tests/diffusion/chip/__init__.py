"""Tests of diffusion/chip/, one test module per module."""
