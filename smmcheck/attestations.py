"""Attestations: manual evidence for SMM practices that configuration cannot show.

    attestations:
      - practice: SMM.GOV.TM.TMOD
        level: 2
        statement: Threat model for the packaging line reviewed with the OT team
        document: "TM-PKG-2026 rev 3 (SharePoint OT-Sec/ThreatModels)"
        attested_by: j.doe@example.com (OT security lead)
        date: 2026-09-15
        expires: 2027-09-15
        categories: [plc, hmi]        # optional: the categories it covers (default: all)

Governance practices (program management, threat modeling, risk attitude, supply chain …)
are evidenced only by attestations. On a practice configuration can evidence, an
attestation is used only where no policy gave a result, and to support level 4 on top of
technical evidence at level 3: configuration alone never yields level 4.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field, field_validator

from smmcheck.errors import UsageError
from smmcheck.frozen import Frozen
from smmcheck.mapping import SmmCatalogue
from smmcheck.yamlfile import read_yaml, validate, where


def _strict_date(value: object) -> dt.date:
    """A YAML date (YYYY-MM-DD); a time of day, or any other text, is refused."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError("must be a date written YYYY-MM-DD (UTC)")
    return value


class Attestation(Frozen):
    """One piece of manual evidence: who says which level a practice reaches, and where the
    documents are."""

    practice: str
    level: int = Field(ge=1, le=4)
    statement: str = Field(min_length=1)
    document: str = Field(min_length=1)
    attested_by: str = Field(min_length=1)
    date: dt.date
    expires: dt.date
    categories: list[str] | None = None

    @field_validator("date", "expires", mode="before")
    @classmethod
    def _dates(cls, value: object) -> dt.date:
        return _strict_date(value)

    def covers(self, category: str | None) -> bool:
        """Whether it applies to devices of ``category``."""
        return self.categories is None or (category is not None and category in self.categories)

    def active(self, today: dt.date) -> bool:
        """Not yet expired (the expiry date itself is still valid: inclusive, UTC)."""
        return self.date <= today <= self.expires


class AttestationFile(Frozen):
    """The attestations file."""

    attestations: list[Attestation] = Field(default_factory=list)


def load_attestations(path: Path, smm: SmmCatalogue) -> list[Attestation]:
    """Read and check an attestations file: known practices, expiry after date."""
    data, text = read_yaml(path, UsageError)
    found = validate(AttestationFile, data if data is not None else {}, path, text, UsageError)
    practices = {p.id for p in smm.practices}
    for number, entry in enumerate(found.attestations, start=1):
        if entry.practice not in practices:
            raise UsageError(
                "invalid attestation",
                where=where(path, entry.practice, text),
                why=f"entry {number} names unknown SMM practice '{entry.practice}'",
            )
        if entry.expires < entry.date:
            raise UsageError(
                "invalid attestation",
                where=where(path, str(entry.expires), text),
                why=f"entry {number} expires ({entry.expires}) before it was made ({entry.date})",
            )
    return found.attestations
