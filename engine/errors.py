"""The engine's exception tree.

Rule: only bad *input* raises, and it raises one of these.  Routing outcomes
(-1, -2, -3 ...) are values, never exceptions.

    EngineError
    ├── SipParseError      a SIP message, header or URI that cannot be read
    ├── ConfigError        a proxy description (socket, alias, modparam) that is invalid
    ├── ScriptError        an rr script line that cannot be understood
    └── ScenarioError      a scenario document that fails validation
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on bad input."""


class SipParseError(EngineError):
    """A SIP message, header or URI that cannot be parsed.

    ``line`` and ``column`` are 1-based positions in the text given to the
    parser (``None`` when not meaningful), ``header`` names the header being
    read, and ``status_hint`` is the reply a proxy would send (h11's
    ``error_status_hint``).

    >>> str(SipParseError("missing '>'", line=3, column=8, header="Route"))
    "line 3, column 8, Route: missing '>'"
    """

    def __init__(
        self,
        what: str,
        *,
        line: int | None = None,
        column: int | None = None,
        header: str | None = None,
        status_hint: int = 400,
    ) -> None:
        self.what = what
        self.line = line
        self.column = column
        self.header = header
        self.status_hint = status_hint
        super().__init__(self.describe())

    def describe(self) -> str:
        """The message with its location in front."""
        where: list[str] = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        prefix = ", ".join(where)
        if self.header:
            prefix = f"{prefix}, {self.header}" if prefix else self.header
        return f"{prefix}: {self.what}" if prefix else self.what

    def shifted(self, line: int, column: int = 0, header: str | None = None) -> SipParseError:
        """The same error placed inside a larger text (header value at line, column)."""
        new_col = None if self.column is None else self.column + column
        return SipParseError(
            self.what,
            line=line,
            column=new_col,
            header=header or self.header,
            status_hint=self.status_hint,
        )


class ConfigError(EngineError):
    """An invalid proxy description: listen socket, alias, modparam or outbound setting."""


class ScriptError(EngineError):
    """An rr script statement that RouteLab does not understand."""


class ScenarioError(EngineError):
    """A scenario document that fails validation; ``path`` is a JSON path."""

    def __init__(self, path: str, what: str) -> None:
        self.path = path
        self.what = what
        super().__init__(f"{path}: {what}" if path else what)
