"""Tests of diffusion/metrics/, one test module per module."""
