"""Training, in rooms a reader can enter alone: PPO's math (`ppo`), the run with its
flags, logs and checkpoints (`run`), evaluation and tournaments (`evaluation`), and
distribution over processes, Ray and Ascend (`distribute`).

A run's settings (`config.TrainConfig`, flags checked by `flags`) are shared by the
rooms; the entry points `python -m train`, `train.evaluate`, `train.tournament` and
`train.export` are thin modules here.
"""
