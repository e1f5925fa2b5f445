"""The one family of errors smmcheck raises for user-facing problems.

Hierarchy::

    SmmcheckError            any problem the user can fix; printed as one line, never a traceback
    ├── UsageError           bad command-line use (a missing path, an unknown option value)
    ├── InputError           a file that cannot be read as what it claims to be
    ├── PolicyError          an invalid policy, policy list or policy test case file
    ├── MappingError         an invalid mapping file (unknown policy, unknown SMM practice)
    └── WaiverError          an invalid waivers file (unknown policy, no justification, bad date)

All of them map to exit code 2 ("nothing evaluated"); the CLI does that in one place.
A config that can be read but not fully understood is *not* an error: it gives
``inconclusive`` results.
"""

from __future__ import annotations


class SmmcheckError(Exception):
    """A problem the user can fix, described by what went wrong, where and why."""

    def __init__(
        self,
        what: str,
        *,
        where: str | None = None,
        why: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.what = what
        self.where = where
        self.why = why
        self.hint = hint
        super().__init__(self.line())

    def line(self) -> str:
        """Render the error as the single line the CLI prints."""
        parts = [f"{self.where}: " if self.where else "", self.what]
        if self.why:
            parts.append(f": {self.why}")
        if self.hint:
            parts.append(f" (hint: {self.hint})")
        return "".join(parts)


class UsageError(SmmcheckError):
    """Bad command-line use."""


class InputError(SmmcheckError):
    """An input file that cannot be read as a device configuration."""


class PolicyError(SmmcheckError):
    """An invalid policy, policy list or policy test case file."""


class MappingError(SmmcheckError):
    """An invalid framework or SMM mapping file."""


class WaiverError(SmmcheckError):
    """An invalid waivers file."""
