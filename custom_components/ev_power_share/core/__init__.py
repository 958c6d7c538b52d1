"""EV Power Share core: the site model, the allocator and the scenario format.

Pure, typed Python with no Home Assistant imports and no I/O, so it can be unit
tested fast and reused (``scripts/allocate``, benchmarks, the simulator).
"""
