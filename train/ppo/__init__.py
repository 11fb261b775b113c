"""PPO's math, apart from how a run is driven: its settings, rewards, advantages, loss,
the rollout and update of one device's worlds, and the builder of the fused, compiled
trainer (`trainer.make_trainer`, the one way to build one)."""
