"""The default behave formatter of this repo: readable ``pretty`` console plus Allure results.

Why a composite instead of ``format = [...]`` in pyproject: behave *appends* command-line ``-f``
options to config-file formats, so ``e2et run -f allure -o …`` (and the test runners' ``-f json``)
would get a second allure formatter writing duplicate results. ``default_format`` is used only
when no ``-f`` is given, which is exactly "plain ``behave --tags @<pack>``".
"""
from __future__ import annotations

from typing import Any

from behave.formatter.base import Formatter, StreamOpener
from behave.formatter.pretty import PrettyFormatter

from .paths import clear_results, reports_root

_EVENTS = ("uri", "feature", "rule", "background", "scenario", "step", "match", "result", "eof")


class E2etFormatter(Formatter):
    """Forwards every formatter event to pretty (console) and allure (reports/allure-results)."""

    name = "e2et"
    description = "pretty console output + Allure results in reports/allure-results"

    def __init__(self, stream_opener: StreamOpener, config: Any) -> None:
        from allure_behave.formatter import AllureFormatter

        super().__init__(stream_opener, config)
        results = reports_root() / "allure-results"
        results.mkdir(parents=True, exist_ok=True)
        clear_results(results)   # the report shows this run; trends come from reports/history
        self.allure_dir = results
        self.parts: list[Formatter] = [PrettyFormatter(stream_opener, config),
                                       AllureFormatter(StreamOpener(filename=str(results)), config)]

    def __getattribute__(self, name: str) -> Any:
        if name in _EVENTS:
            parts = object.__getattribute__(self, "parts")
            return lambda *a, **kw: [getattr(p, name)(*a, **kw) for p in parts] and None
        return object.__getattribute__(self, name)

    def close(self) -> None:
        for part in self.parts:
            part.close()
