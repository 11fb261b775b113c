"""The run of `python -m train`: its flags (`cli`), the loop of chunks with its logs
(`loop`, `logger`), atomic checkpoints and exact resumption (`checkpoint`), and the
policy a run leaves (`policy`: load, export)."""
