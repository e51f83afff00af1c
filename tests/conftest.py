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
