"""A fixture shared by the test packages whose numbers (or speed) depend on torch's CPU thread
count: it runs each test with one thread and restores the count after."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
