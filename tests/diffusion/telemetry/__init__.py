"""Tests of diffusion/telemetry/, one test module per module."""
