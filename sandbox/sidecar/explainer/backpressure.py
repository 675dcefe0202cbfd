"""The backpressure controller (contract §7): a level per job from backlog and queue lengths (or a
``rate-limit-spike`` chaos flag), and the degrade-ladder actions for that level."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

LADDER = ("token->sentence", "reduce-samples", "reduce-topk", "reduce-layers", "saliency-fallback", "drop")


@dataclass
class Decision:
    level: int = 0
    actions: list[str] = field(default_factory=list)

    @property
    def drop(self) -> bool:
        return "drop" in self.actions


class Controller:
    def __init__(self, env: Mapping[str, str]) -> None:
        num = lambda k, d: float(env.get(k) or d)  # noqa: E731
        self.max_backlog = {"sentence": num("BP_MAX_BACKLOG_SENTENCE", 1.5), "token": num("BP_MAX_BACKLOG_TOKEN", 3.0)}
        self.max_tenant = num("BP_MAX_QUEUE_TENANT", 200)
        self.max_global = num("BP_MAX_QUEUE_GLOBAL", 5000)
        self.min_guarantee = num("BP_TENANT_MIN_GUARANTEE", 2)
        self.burst = num("BP_BURST_MULTIPLIER", 1.5)
        ladder = env.get("BP_DEGRADE_LADDER")
        self.ladder = tuple(s.strip() for s in ladder.split(",")) if ladder else LADDER

    def decide(self, granularity: str, backlog: float, tenant_queue: int, global_queue: int,
               spike: str | None = None) -> Decision:
        limit = self.max_backlog.get(granularity, self.max_backlog["sentence"])
        level = 0
        if backlog > limit or tenant_queue > self.max_tenant:
            level = 1
        if backlog > limit * self.burst or global_queue > self.max_global:
            level = 2
        if spike == "soft":
            return Decision(max(level, 1), [a for a in ("reduce-samples", "reduce-topk") if a in self.ladder])
        if spike == "hard":
            return Decision(2, [a for a in ("reduce-samples", "reduce-topk", "reduce-layers", "saliency-fallback",
                                            "drop") if a in self.ladder])
        if level == 0:
            return Decision()
        actions = []
        for a in self.ladder:
            if a == "token->sentence" and granularity != "token":
                continue
            if a in ("saliency-fallback", "reduce-layers") and level < 2:
                continue
            if a == "drop":
                over = backlog > limit * self.burst * 1.5 or global_queue > self.max_global * 1.2
                guaranteed = tenant_queue < self.min_guarantee and global_queue <= self.max_global
                if not over or guaranteed:
                    continue
            actions.append(a)
        return Decision(level, actions)
