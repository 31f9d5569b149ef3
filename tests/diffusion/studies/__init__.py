"""Tests of diffusion/studies/, one test module per module."""
