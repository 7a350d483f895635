"""Every model test runs with one torch thread (reductions, and so trained weights, depend on
the thread count)."""

from tests.torch_threads import one_torch_thread  # noqa: F401 (an autouse fixture)
