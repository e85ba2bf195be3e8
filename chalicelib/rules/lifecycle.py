"""The one shape every lifecycle takes: a declarative table of (action, from statuses, which parties,
next status). Registrations, contact requests and exchanges each declare one table; services ask it
before every state change and clients get the allowed actions from it. Pure: no AWS, no I/O.

Parties are what the caller is to the object ("owner", "partnership", "recipient", "VO", "HOP" ...),
worked out by the service. A collective action (a submission both participants confirm, approvals by
both partnerships, four signatures) names the parties it `collects`: each one's act is recorded, and
the status moves on only when all of them have acted (`step`). A party that has acted already and
acts again (a client retrying after a lost answer) has nothing to do: the step says so (`repeat`) and
the service answers the object as it is, writing nothing; a row may instead refuse a repeat
(`on_repeat`: a signature given twice).

Conflicts of interest (RULES.md): nobody decides on what they are a party to, and nobody acts for
both sides. An oversight action (a decision on the object: accept a registration, approve a report,
confirm a payment) is never taken by someone who is also one of the object's `subjects`, whatever
else they are; and in a collective act nobody's share holds a subject and another party (the VO's
user who is an officer of the VOP signs no agreement for both). One organisation holding two parties
that are not subjects (a partnership that is both VOP and HOP) acts for both. Either is 403
CONFLICT_OF_INTEREST whatever the status: who may never act is told so before "not now".

A row may restrict an argument to some of its parties (`restricted`: only the VO gives its bank
account, in an edit both participants make); who may never give it is refused whatever the status.

A row names its `guards`: the programme's conditions on the object and the act's arguments (a bank
account before submission, a comment to send something back), each a named pure test checked, in the
row's order, when the step is taken (`step`) and after who and when (`check`); so what is checked
when is read in the table, and the table states every code it can answer (`refusals`).

Every action has a label in the table (`labels`: "upload evidence"), and refusals are worded from it:
"You cannot upload evidence now: the exchange's status is completed."
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from chalicelib.errors import Conflict, DomainError, Forbidden, NotFound

S = TypeVar("S", bound=StrEnum)
Args = Mapping[str, Any]  # an act's arguments, as the service names them ("comment", "document", ...)


@dataclass(frozen=True)
class Refused:
    """Why a guard does not hold, when a message is not enough: the details the client is served too."""

    message: str
    details: tuple[Mapping[str, Any], ...] = ()


GuardTest = Callable[[Mapping[str, Any], Args], "str | Refused | None"]


@dataclass(frozen=True)
class Guard:
    """A named condition of a row: `test` reads the object as read and the act's arguments and answers
    None when it holds, else why not. The kind of refusal and its code are declared, not raised, so
    the table can state them (the routes' documented errors)."""

    name: str
    refusal: type[DomainError]
    code: str
    test: GuardTest

    def refuse(self, doc: Mapping[str, Any], args: Args) -> DomainError | None:
        found = self.test(doc, args)
        if found is None:
            return None
        refused = Refused(found) if isinstance(found, str) else found
        return self.refusal(refused.message, code=self.code, details=[dict(d) for d in refused.details])


def guard(refusal: type[DomainError], code: str) -> Callable[[GuardTest], Guard]:
    """A guard declared by its test, under the test's name."""

    def declare(test: GuardTest) -> Guard:
        return Guard(test.__name__, refusal, code, test)

    return declare


ANY_VALUE: Any = object()


@dataclass(frozen=True)
class Restricted:
    """An argument of an action that only these of its parties may give (any value of it, or `value`)."""

    argument: str
    by: frozenset[str]
    label: str  # in messages: "give the visiting organisation's bank account"
    value: Any = ANY_VALUE

    def applies(self, args: Args) -> bool:
        return self.argument in args and (self.value is ANY_VALUE or args[self.argument] == self.value)


def restricted(argument: str, by: Iterable[str], label: str, *, value: Any = ANY_VALUE) -> Restricted:
    return Restricted(argument, frozenset(by), label, value)


@dataclass(frozen=True)
class Transition(Generic[S]):
    action: str
    sources: frozenset[S]
    by: frozenset[str]
    to: S | None  # None: the status stays as it is (an edit, an upload)
    oversight: bool = False
    collect: frozenset[str] = frozenset()  # all of these must act before the status moves to `to`
    guards: tuple[Guard, ...] = ()  # checked in this order when the step is taken
    on_repeat: Guard | None = None  # checked instead when a party repeats its act on a collective step
    restricted: tuple[Restricted, ...] = ()
    # What taking the step causes, by name (rendering, a payment, the registrations' summaries...):
    # written with the change, delivered by the effects dispatcher. A collective step causes them once,
    # when the last of its parties acts.
    effects: tuple[str, ...] = ()
    # The step the object waits for in these statuses (its parties are asked to take it), as opposed to
    # one a party may take (a cancellation, an upload): `awaiting` answers from these rows.
    awaited: bool = False


@dataclass(frozen=True)
class Step(Generic[S]):
    """The outcome of one act: the status after it, and who has acted on a collective action so far."""

    status: S
    acted: frozenset[str]
    repeat: bool = False  # the parties had acted already: nothing to do, nothing to write
    effects: tuple[str, ...] = ()  # what the step causes (the row's, once the step is complete)


def transition(
    action: str,
    sources: Iterable[S],
    by: Iterable[str],
    to: S | None,
    *,
    oversight: bool = False,
    collect: Iterable[str] = (),
    guards: Iterable[Guard] = (),
    on_repeat: Guard | None = None,
    restricted: Iterable[Restricted] = (),
    effects: Iterable[str] = (),
    awaited: bool = False,
) -> Transition[S]:
    return Transition(
        action,
        frozenset(sources),
        frozenset(by),
        to,
        oversight,
        frozenset(collect),
        guards=tuple(guards),
        on_repeat=on_repeat,
        restricted=tuple(restricted),
        effects=tuple(effects),
        awaited=awaited,
    )


@dataclass(frozen=True)
class Lifecycle(Generic[S]):
    name: str  # in messages: "registration", "contact request"
    statuses: type[S]
    subjects: frozenset[str]  # the parties the object is about, who never decide on it
    transitions: tuple[Transition[S], ...]
    wrong_status_code: str  # the 409's code when the action exists but not in this status
    labels: Mapping[str, str]  # each action in words, for messages: "upload evidence"

    def __post_init__(self) -> None:
        seen: set[tuple[str, S]] = set()
        for t in self.transitions:
            for source in t.sources:
                if (t.action, source) in seen:  # one row per (action, status): the table is a function
                    raise ValueError(f"{self.name}: {t.action} from {source} declared twice")
                seen.add((t.action, source))
        unlabelled, stray = set(self.actions) - set(self.labels), set(self.labels) - set(self.actions)
        if unlabelled or stray:
            raise ValueError(
                f"{self.name}: actions without a label {sorted(unlabelled)}, "
                f"labels of no action {sorted(stray)}"
            )

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.action for t in self.transitions))

    def refusals(self) -> dict[type[DomainError], frozenset[str]]:
        """The errors `check` and `step` can raise, with their codes (for the routes' documented
        errors)."""
        found: dict[type[DomainError], set[str]] = {
            NotFound: {"NOT_FOUND"},
            Forbidden: {"FORBIDDEN"},
            Conflict: {self.wrong_status_code},
        }
        if any(
            t.oversight or (t.collect & self.subjects and t.collect - self.subjects) for t in self.transitions
        ):
            found[Forbidden].add("CONFLICT_OF_INTEREST")
        for t in self.transitions:
            for g in (*t.guards, *([t.on_repeat] if t.on_repeat else [])):
                found.setdefault(g.refusal, set()).add(g.code)
        return {error: frozenset(codes) for error, codes in found.items()}

    def _rows(self, action: str) -> list[Transition[S]]:
        rows = [t for t in self.transitions if t.action == action]
        if not rows:
            raise ValueError(f"{self.name} has no action {action!r}")
        return rows

    def allowed(
        self, status: S, parties: Iterable[str], acted: Mapping[str, Iterable[str]] | None = None
    ) -> list[str]:
        """The actions these parties may take now (for `actions` in responses); a collective action
        they have taken already (`acted`: who has, by action) would be a repeat, and is not offered."""
        parties, acted = frozenset(parties), acted or {}
        return [
            t.action
            for t in self.transitions
            if status in t.sources
            and self._refusal(t, parties, {}) is None
            and not self._repeats(t, parties, acted.get(t.action, ()))
        ]

    def _refusal(self, row: Transition[S], parties: frozenset[str], args: Args) -> DomainError | None:
        """What `row` answers these parties whatever the status: not one of its parties, an argument
        they may not give, or a conflict of interest; None when they may take it."""
        label = self.labels[row.action]
        if not row.by & parties:
            return Forbidden(f"You may not {label}.")
        for only in row.restricted:
            if only.applies(args) and not only.by & parties:
                return Forbidden(f"You may not {only.label}.")
        if row.oversight and parties & self.subjects:
            return Forbidden(
                f"You may not {label}: you are a party to this {self.name}.", code="CONFLICT_OF_INTEREST"
            )
        share = parties & row.collect
        if share & self.subjects and share - self.subjects:
            return Forbidden(
                f"You may not {label} for {' and '.join(sorted(share))} at once: one person acts for one "
                "side only.",
                code="CONFLICT_OF_INTEREST",
            )
        return None

    @staticmethod
    def _repeats(row: Transition[S], parties: frozenset[str], acted: Iterable[str]) -> bool:
        return bool(row.collect) and parties & row.collect <= frozenset(acted)

    def check(self, status: S, action: str, parties: Iterable[str], args: Args | None = None) -> S:
        """The status after `action` with these arguments, or the refusal: 404 no party at all, 403 a
        party that may never take it (the wrong party, an argument it may not give, a conflict of
        interest), 409 the wrong status (named)."""
        row = self._row(status, action, frozenset(parties), args or {})
        return row.to if row.to is not None else status

    def _row(self, status: S, action: str, parties: frozenset[str], args: Args) -> Transition[S]:
        rows = self._rows(action)
        label = self.labels[action]
        if not parties:
            raise NotFound(f"No such {self.name}.")
        never = [self._refusal(t, parties, args) for t in rows]
        if all(never):
            # The most telling refusal: a row of theirs says why not (an argument, a conflict), else
            # they have none.
            telling = next((r for r, t in zip(never, rows, strict=True) if r and t.by & parties), never[0])
            assert telling is not None  # all() held: every row refused
            raise telling
        row = next((t for t in rows if status in t.sources), None)
        if row is None:
            raise Conflict(
                f"You cannot {label} now: the {self.name}'s status is {status}.",
                code=self.wrong_status_code,
                details=[{"status": str(status), "action": action}],
            )
        if not row.by & parties:
            raise Forbidden(f"You may not {label} while the {self.name}'s status is {status}.")
        refusal = self._refusal(row, parties, args)
        if refusal is not None:
            raise refusal
        return row

    def step(
        self,
        status: S,
        action: str,
        parties: Iterable[str],
        acted: Iterable[str] = (),
        *,
        doc: Mapping[str, Any] | None = None,
        args: Args | None = None,
    ) -> Step[S]:
        """Take `action` on the object as read (`doc`) with these arguments: `check`; a repeat of a
        collective act is nothing to do (or the row's `on_repeat` refusal), and is not guarded again:
        the act was taken when its guards held; else the row's guards in order, then for a collective
        action record the acting parties' share (a party acting for two roles, one partnership as both
        VOP and HOP, counts for both) and move on only when all the parties it collects have acted;
        until then the status stays."""
        parties, acted, doc, args = frozenset(parties), frozenset(acted), doc or {}, args or {}
        row = self._row(status, action, parties, args)
        target = row.to if row.to is not None else status
        if self._repeats(row, parties, acted):
            refusal = row.on_repeat.refuse(doc, args) if row.on_repeat else None
            if refusal is not None:
                raise refusal
            return Step(status, acted, repeat=True)
        for g in row.guards:
            refusal = g.refuse(doc, args)
            if refusal is not None:
                raise refusal
        if not row.collect:
            return Step(target, frozenset(), effects=row.effects)
        done = acted | (parties & row.collect)
        complete = done >= row.collect
        return Step(target if complete else status, done, effects=row.effects if complete else ())

    def rows_from(self, status: S) -> tuple[Transition[S], ...]:
        """The rows that may be taken in `status`, in the table's order."""
        return tuple(t for t in self.transitions if status in t.sources)

    def awaiting(self, status: S, acted: Mapping[str, Iterable[str]] | None = None) -> set[tuple[str, str]]:
        """Who still has to act, and how: (party, action) for every step the object waits for in
        `status` (the rows marked `awaited`) and each of its parties that has not taken it yet (a
        collective step's parties, else whoever may take it). One answer for the mail and reminders."""
        acted = acted or {}
        return {
            (str(party), t.action)
            for t in self.rows_from(status)
            if t.awaited
            for party in (t.collect or t.by)
            if party not in frozenset(acted.get(t.action, ()))
        }

    def collected(self, action: str) -> frozenset[str]:
        """The parties whose acts `action` collects (all of them must act): the signers of a document."""
        return frozenset(p for t in self._rows(action) for p in t.collect)

    def effects_of(self) -> frozenset[str]:
        """Every effect the table names (the dispatcher must know each)."""
        return frozenset(e for t in self.transitions for e in t.effects)
