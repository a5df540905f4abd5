"""Test infrastructure shared by the tests and the benchmarks.

The Discord stand-in (``stand_in``), the article-corpus generator (``corpus``), the
``newsbot run`` subprocess launcher (``run_bot``), the in-process bot environment
(``botenv``), the ``newsbot ...`` command runner (``cli``), one hostile store entry of
each kind (``hostile``) and small file helpers (``helpers``). The tests (``tests/unit``,
``tests/e2e``, ``tests/hosts``) and ``bench/`` both import from here; neither imports the other.
"""
