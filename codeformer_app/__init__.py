"""CodeFormer App: restore faces in photos with CodeFormer."""

import os

__version__ = "0.4.0"

#: OpenMP reads its wait policy once, when PyTorch loads it, so it is set here, before any module of the app
#: imports PyTorch. PASSIVE: PyTorch's CPU threads sleep as soon as a parallel region ends instead of spinning,
#: which leaves the cores to the work in between (NNPACK's own thread pool, the Python thread). Measured with
#: ``bench.bench_engine`` on a 2-core machine: 0.90-0.94x the time per face when idle, 0.57-0.78x when other work runs
#: (docs/benchmarks.md). A value the user set is kept.
OMP_WAIT_POLICY_ENV = "OMP_WAIT_POLICY"
OMP_WAIT_POLICY = "PASSIVE"
os.environ.setdefault(OMP_WAIT_POLICY_ENV, OMP_WAIT_POLICY)
