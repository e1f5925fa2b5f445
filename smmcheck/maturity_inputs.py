"""What a maturity report needs besides a run's results: the target profile and the
attestations, chosen from the command line, the project file or the default, and loaded
(and checked) before any work starts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from smmcheck.attestations import Attestation, load_attestations
from smmcheck.mapping import Mappings, SmmCatalogue
from smmcheck.maturity import MaturityReport, assess_maturity
from smmcheck.profiles import DEFAULT_PROFILE, Profile, is_profile_file, load_profile
from smmcheck.project import Project
from smmcheck.results import Report


@dataclass(frozen=True)
class MaturityInputs:
    """What a maturity report needs besides the results, loaded (and checked) up front."""

    profile: Profile
    profile_source: str
    attestations: tuple[Attestation, ...]

    def assess(
        self, report: Report, smm: SmmCatalogue, today: dt.date | None = None
    ) -> MaturityReport:
        """The maturity report for ``report`` (attestations judged on ``today``, UTC)."""
        return assess_maturity(
            report,
            smm,
            self.profile,
            profile_source=self.profile_source,
            attestations=self.attestations,
            today=today or dt.datetime.now(dt.UTC).date(),
        )


def maturity_inputs(
    mappings: Mappings,
    project: Project | None,
    *,
    profile: str | None = None,
    attestations: Path | None = None,
    profiles: Path | None = None,
) -> MaturityInputs:
    """The profile and attestations named here, else the project file's, else the default
    profile and no attestations. Built-in profile names are looked up in ``profiles`` (an
    evidence pack's copy), by default smmcheck's own."""
    name = profile or (project.profile if project else None)
    source = "set by --profile" if profile else "set in the project file" if name else "the default"
    name = name or DEFAULT_PROFILE
    file = attestations or (project.attestations if project else None)
    return MaturityInputs(
        load_profile(name, mappings.smm, profiles),
        f"{name}, {source}" if is_profile_file(name) else source,
        tuple(load_attestations(file, mappings.smm)) if file else (),
    )
