"""A user's notification preferences: which events, which teams and sessions, quiet hours,
and how long a request waits before a reminder (no I/O)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tether.errors import ConfigError
from tether.notify.contract import EVENTS

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DEFAULT_REMINDER_MINUTES = 5.0


class QuietHours(BaseModel):
    """A daily span (it may cross midnight) in which nothing is sent."""

    model_config = ConfigDict(frozen=True)

    start: str = Field(description="HH:MM, 24-hour clock")
    end: str = Field(description="HH:MM; before `start` means the span crosses midnight")
    tz: str = Field(default="UTC", description="IANA time zone, e.g. Europe/Berlin")

    @field_validator("start", "end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. 22:30")
        return value

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; write e.g. Europe/Berlin") from None
        return value

    def contains(self, now: float) -> bool:
        """Is the moment `now` (epoch seconds) inside the quiet span?"""
        local = datetime.fromtimestamp(now, tz=UTC).astimezone(ZoneInfo(self.tz))
        minute = local.hour * 60 + local.minute
        start, end = _minutes(self.start), _minutes(self.end)
        if start == end:
            return False
        if start < end:
            return start <= minute < end
        return minute >= start or minute < end


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class Preferences(BaseModel):
    """What a user wants to hear about (defaults: everything, reminders after 5 min)."""

    model_config = ConfigDict(frozen=True)

    events: list[str] = Field(default_factory=lambda: list(EVENTS))
    teams: list[str] | None = Field(default=None, description="only these teams (null: all)")
    sessions: list[str] | None = Field(default=None, description="only these sessions (null: all)")
    quiet_hours: QuietHours | None = None
    reminder_minutes: float = Field(
        default=DEFAULT_REMINDER_MINUTES,
        ge=0,
        le=1440,
        description="remind after this many minutes unanswered (0: never)",
    )

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(EVENTS))
        if unknown:
            raise ValueError(f"unknown events {unknown}; choose from {', '.join(EVENTS)}")
        return value

    def wants(self, event: str, team: str, session: str) -> bool:
        """Does the user want this event of this session at all (quiet hours aside)?"""
        if event == "test":
            return True
        if event not in self.events:
            return False
        if self.teams is not None and team not in self.teams:
            return False
        return self.sessions is None or session in self.sessions

    def quiet(self, now: float) -> bool:
        """Is it quiet time for this user?"""
        return self.quiet_hours is not None and self.quiet_hours.contains(now)

    @property
    def reminder_s(self) -> float | None:
        """Seconds before a reminder, or None for no reminders."""
        return self.reminder_minutes * 60 if self.reminder_minutes > 0 else None


def parse_events(text: str | None) -> list[str] | None:
    """A comma-separated event list from the command line (None: every event)."""
    if text is None or not text.strip():
        return None
    events = [e.strip() for e in text.split(",") if e.strip()]
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise ConfigError(
            f"unknown events {', '.join(unknown)}", hint=f"choose from {', '.join(EVENTS)}"
        )
    return events
