"""Policies for nmmo-jax: scripted baselines (and the learned actor-critic)."""
