"""The inputs of one soak, stored in the manifest and the state file so ``--resume`` reuses them."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SoakConfig:
    """Everything that decides what a soak does; serialisable so a resumed soak is the same soak."""

    tags: list[str] = field(default_factory=list)
    profile: str = "local"
    cycles: int | None = 10
    run_hours: float | None = None
    max_failures: int | None = None
    cooldown: float = 0.0
    stop_on_failure: bool = False
    inject_failure: str | None = None
    inject_at_phase: str | None = None
    inject_every: int | None = None
    inject_param: Any = None
    seed: int = 0
    cycle_timeout: float = 900.0
    regression_margin: float = 0.2
    regression_min_delta: float = 0.05
    baseline: str | None = None
    behave_args: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SoakConfig:
        """Unknown keys are ignored so an older state file still resumes after an upgrade."""
        known = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in data.items() if k in known})

    def injected(self, cycle: int) -> bool:
        """Cycles count from 1; ``--inject-every K`` hits cycles K, 2K, … so the cycles before the
        first injection give a clean baseline; without K every cycle is injected."""
        if not self.inject_failure:
            return False
        every = self.inject_every or 1
        return cycle % every == 0

    def validate(self) -> str | None:
        """One line naming the bad input, or None; the CLI turns it into exit code 2."""
        if self.cycles is None and self.run_hours is None:
            return "give --cycles N or --run-hours H (or both: whichever ends first)"
        if self.cycles is not None and self.cycles < 1:
            return f"--cycles must be ≥ 1, got {self.cycles}"
        if self.run_hours is not None and self.run_hours <= 0:
            return f"--run-hours must be > 0, got {self.run_hours}"
        if self.inject_every is not None and self.inject_every < 1:
            return f"--inject-every must be ≥ 1, got {self.inject_every}"
        if (self.inject_at_phase or self.inject_every) and not self.inject_failure:
            return "--inject-at-phase/--inject-every need --inject-failure NAME"
        if self.cooldown < 0:
            return f"--cooldown must be ≥ 0, got {self.cooldown}"
        return None
