"""Per-stage row accounting: rows in + rows added = rows out + rows rejected, always."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from dataforge.errors import DataforgeError


class AccountingError(DataforgeError):
    """An operator lost or invented rows it did not declare."""


@dataclass
class StageStats:
    name: str
    operator: str
    kind: str
    rows_in: int = 0
    rows_out: int = 0
    rows_rejected: int = 0
    rows_added: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    def add(self, other: "StageStats") -> None:
        self.rows_in += other.rows_in
        self.rows_out += other.rows_out
        self.rows_rejected += other.rows_rejected
        self.rows_added += other.rows_added
        for k, v in other.rejected_by_reason.items():
            self.rejected_by_reason[k] = self.rejected_by_reason.get(k, 0) + v

    def check(self) -> None:
        if self.rows_in + self.rows_added != self.rows_out + self.rows_rejected:
            raise AccountingError(
                f"stage '{self.name}': {self.rows_in} in + {self.rows_added} added != "
                f"{self.rows_out} out + {self.rows_rejected} rejected"
            )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rejected_by_reason"] = dict(sorted(d["rejected_by_reason"].items()))
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "StageStats":
        return cls(**d)


def reason_key(reason: str) -> str:
    """Group reasons by their rule: 'too_short: 3 < 10 chars' counts as 'too_short'."""
    return reason.split(":", 1)[0].strip()[:120]


def totals(stages: list[dict], final_rows: int) -> dict:
    """Overall invariant over every stage of a run."""
    read_in = sum(s["rows_in"] for s in stages if s["kind"] == "read")
    added = sum(s["rows_added"] for s in stages)
    rejected = sum(s["rows_rejected"] for s in stages)
    ok = read_in + added == final_rows + rejected
    return {"rows_in": read_in, "rows_added": added, "rows_out": final_rows,
            "rows_rejected": rejected, "balanced": ok}


def emptied(stages: list[dict]) -> list[dict]:
    """Stages that rejected every row they were given and added none: almost always a
    mismatch between the data and the step (a template family reading other columns, label
    ids of another convention, a limit in other units), not bad data."""
    return [s for s in stages if s.get("kind") != "read" and s["rows_in"] > 0 and s["rows_out"] == 0
            and not s.get("rows_added") and s["rows_rejected"] == s["rows_in"]]
