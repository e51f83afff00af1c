"""Shared fixtures."""

import pytest


@pytest.fixture
def one_torch_thread():
    """Tiny tensors: a second torch thread only adds synchronisation cost (large when other processes share
    the CPU), and a fixed thread count keeps float reductions reproducible."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def running():
    """`running(args)` starts `tracklift ARGS` in a subprocess (tests/processes.py); whatever is still running
    at the end of the test is killed."""
    from tests.processes import start

    procs = []
    yield lambda args: procs.append(start(args)) or procs[-1]
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
