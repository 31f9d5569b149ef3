"""Tests of diffusion/generation/, one test module per module."""
