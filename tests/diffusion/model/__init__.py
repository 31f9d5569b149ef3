"""Tests of diffusion/model/, one test module per module."""
