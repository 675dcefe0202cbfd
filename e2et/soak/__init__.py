"""Soak runs: the same tag selection run cycle after cycle against one environment.

One green run does not prove a platform is stable; a soak repeats full runs (each its own behave
child, run id and Allure results), records every scenario and phase duration as it happens, can
resume after a crash or Ctrl-C, injects sandbox faults into chosen cycles, and turns the record
into percentiles, regression flags, plots and a Markdown report.

Modules are small on purpose: ``orchestrator`` drives cycles; ``state``/``metrics``/``manifest``
persist; ``analyze``/``stats``/``compare``/``plots``/``report`` read the record back.
"""
