"""train.distribute.backend: the backend known before JAX starts, and the CPU-only settings it
gates. With the backend faked as "gpu" or "tpu", `python -m train` adds no host
device count and `--processes` binds no cores and sets no XLA flag; on "cpu" both
happen as before."""
import ast
import os
from pathlib import Path

import pytest

from train.config import TrainConfig
from train.distribute import backend, supervise

ROOT = Path(__file__).resolve().parents[1]
FLAG = "--xla_force_host_platform_device_count"


def installed(monkeypatch, modules=(), files=()):
    """Pretend exactly these plugin modules are importable and these device files exist."""
    real_exists = os.path.exists
    monkeypatch.setattr(backend.importlib.util, "find_spec",
                        lambda name, *a: object() if name in modules else None)
    monkeypatch.setattr(backend.os.path, "exists",
                        lambda p: p in files if p.startswith("/dev/") else real_exists(p))


@pytest.mark.parametrize("value, expected", [
    ("cpu", "cpu"), ("cuda", "gpu"), ("rocm", "gpu"), ("gpu", "gpu"), ("tpu", "tpu"),
    ("cuda,cpu", "gpu"), (" CPU ,cuda", "cpu"),
])
def test_jax_platforms_decides_when_set(monkeypatch, value, expected):
    installed(monkeypatch, modules=("libtpu", "jax_cuda12_plugin"), files=("/dev/nvidiactl",))
    monkeypatch.setenv("JAX_PLATFORMS", value)
    assert backend.platform() == expected


@pytest.mark.parametrize("modules, files, expected", [
    ((), (), "cpu"),
    (("jax_cuda12_plugin",), ("/dev/nvidiactl",), "gpu"),
    (("jax_cuda13_plugin",), ("/dev/nvidia0",), "gpu"),
    (("jax_cuda12_plugin",), (), "cpu"),  # plugin without a visible GPU: JAX runs on CPU
    ((), ("/dev/nvidiactl",), "cpu"),  # a GPU without the plugin: JAX cannot use it
    (("libtpu",), (), "tpu"),
    (("jax_rocm7_plugin",), ("/dev/kfd",), "gpu"),
])
def test_else_an_installed_plugin_with_its_hardware(monkeypatch, modules, files, expected):
    monkeypatch.delenv("JAX_PLATFORMS", raising=False)
    installed(monkeypatch, modules, files)
    assert backend.platform() == expected


def test_this_machine_is_a_cpu_one():
    """The suite's own machines: nothing below would test the CPU path otherwise."""
    if backend.platform() != "cpu":
        pytest.skip("an accelerator is visible here")
    import jax
    assert jax.default_backend() == "cpu"


def on(monkeypatch, name: str) -> None:
    monkeypatch.setattr(backend, "platform", lambda: name)


@pytest.mark.parametrize("name", ["gpu", "tpu"])
def test_no_host_devices_on_an_accelerator(monkeypatch, name):
    on(monkeypatch, name)
    env = {"XLA_FLAGS": "--xla_dump_to=/tmp/x"}
    backend.use_every_core(env)
    assert env == {"XLA_FLAGS": "--xla_dump_to=/tmp/x"}
    env = {}
    backend.use_every_core(env)
    assert env == {}


def test_one_host_device_per_core_on_cpu(monkeypatch):
    on(monkeypatch, "cpu")
    monkeypatch.setattr(backend.os, "sched_getaffinity", lambda pid: {0, 3, 5})
    env = {}
    backend.use_every_core(env)
    assert env == {"XLA_FLAGS": f"{FLAG}=3"}
    env = {"XLA_FLAGS": "--xla_dump_to=/tmp/x"}
    backend.use_every_core(env)
    assert env == {"XLA_FLAGS": f"--xla_dump_to=/tmp/x {FLAG}=3"}
    env = {"XLA_FLAGS": f"{FLAG}=7"}  # the user's count wins
    backend.use_every_core(env)
    assert env == {"XLA_FLAGS": f"{FLAG}=7"}


def test_train_main_sets_flags_only_through_the_backend():
    """`python -m train` calls use_every_core and spells no XLA flag of its own."""
    source = (ROOT / "train" / "__main__.py").read_text()
    calls = {n.func.id for n in ast.walk(ast.parse(source))
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "use_every_core" in calls and "xla_force_host" not in source


class FakeProc:
    pid = 0


def local_group(monkeypatch, n: int) -> list[tuple]:
    """LocalGroup of n processes with spawn faked: (cores, XLA_FLAGS) of each."""
    spawned = []
    monkeypatch.setattr(supervise, "spawn", lambda argv, cores=None, **popen: (
        spawned.append((cores, popen["env"].get("XLA_FLAGS"))), FakeProc())[1])
    tc = TrainConfig.of(preset="small", num_worlds=4, minutes=0.0)
    supervise.LocalGroup(tc, n, [], 0)
    return spawned


@pytest.mark.parametrize("name", ["gpu", "tpu"])
def test_no_core_binding_or_xla_flags_on_an_accelerator(monkeypatch, name):
    on(monkeypatch, name)
    monkeypatch.setattr(supervise.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    assert [supervise.core_share(i, 2) for i in range(2)] == [None, None]
    env = supervise.member_env(4, restarts=2)
    assert env["XLA_FLAGS"] == "--xla_dump_to=/tmp/x" and env[supervise.RESTARTS_ENV] == "2"
    monkeypatch.delenv("XLA_FLAGS")
    assert "XLA_FLAGS" not in supervise.member_env(4, restarts=0)
    assert local_group(monkeypatch, 2) == [(None, None), (None, None)]


def test_cores_bound_and_host_devices_set_on_cpu(monkeypatch):
    on(monkeypatch, "cpu")
    monkeypatch.setattr(supervise.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setenv("XLA_FLAGS", f"--xla_dump_to=/tmp/x {FLAG}=9")
    assert [supervise.core_share(i, 2) for i in range(2)] == [[0, 1], [2, 3]]
    env = supervise.member_env(2, restarts=0)
    assert env["XLA_FLAGS"] == f"--xla_dump_to=/tmp/x {FLAG}=2"
    assert local_group(monkeypatch, 2) == [([0, 1], env["XLA_FLAGS"]), ([2, 3], env["XLA_FLAGS"])]
