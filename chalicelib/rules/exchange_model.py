"""The exchange as one typed, frozen object: its parties, agreed facts, generated documents, signatures
and uploads, and the rest of what the parties wrote (the agreed content, notes, report). Each act is a
pure method that returns the new exchange; `decide` asks the flow table (who, when, the row's guards),
`apply` makes the act's own change and `moved` takes the step: the status, the collected acts, the
signatures carried over, the agreed facts fixed at validation, the day a reminder falls due and the
effects the row names. The service layer only loads, calls and saves (services.exchanges `act`).
Pure: no AWS, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from chalicelib.errors import RuleBroken
from chalicelib.reference import ReferenceData
from chalicelib.rules import RuleViolation
from chalicelib.rules.agreed import AgreedFacts, agree, amend
from chalicelib.rules.banking import check_bank_account
from chalicelib.rules.exchange import ExchangeFacts, check_exchange
from chalicelib.rules.exchange_flow import (
    AGREED,
    FLOW,
    IN_TRANSACTION,
    RELEASE_VISIT,
    TAKE_VISIT,
    ExchangeStatus,
    Party,
)
from chalicelib.rules.exchange_guards import EXTENSION_GRANTED, EXTENSION_REFUSED, EXTENSION_REQUESTED
from chalicelib.rules.lifecycle import Step
from chalicelib.rules.reminders import Due, exchange_remind_on
from chalicelib.rules.signing import SIGN_ACTION, carried, current, signed_by

Document = Mapping[str, Any]  # a registration or an upload entry, as the store reads it


@dataclass(frozen=True)
class ExchangeParties:
    """Who the exchange is between: the two organisations' users and their partnerships (a payment
    knows the visitor's side only)."""

    visitor_user: str | None
    host_user: str | None
    vop: str | None
    hop: str | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ExchangeParties:
        return cls(
            visitor_user=doc.get("visitor_user"),
            host_user=doc.get("host_user"),
            vop=doc.get("vop"),
            hop=doc.get("hop"),
        )

    def of(self, user_id: str, partnership_id: str | None, roles: Iterable[str]) -> frozenset[str]:
        """What a person is to the exchange: every party they hold (possibly several)."""
        roles = frozenset(roles)
        found: set[str] = set()
        if user_id and user_id == self.visitor_user:
            found.add(Party.VO)
        if user_id and user_id == self.host_user:
            found.add(Party.HO)
        if "partnership" in roles and partnership_id:
            if partnership_id == self.vop:
                found.add(Party.VOP)
            if partnership_id == self.hop:
                found.add(Party.HOP)
        for role, party in (("support", Party.SUPPORT), ("admin", Party.ADMIN), ("finance", Party.FINANCE)):
            if role in roles:
                found.add(party)
        return frozenset(found)


@dataclass(frozen=True)
class Signature:
    """One party's signature on one version of a generated document (in the tool, or a scan of it)."""

    document: str
    version: int
    sha256: str
    party: str
    by: str
    at: str
    scan: str | None = None  # the accepted upload that carries it

    def as_dict(self) -> dict[str, Any]:
        shown = {k: getattr(self, k) for k in ("document", "version", "sha256", "party", "by", "at")}
        return {**shown, "scan": self.scan} if self.scan else shown

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        return cls(
            document=str(data["document"]),
            version=int(data["version"]),
            sha256=str(data["sha256"]),
            party=str(data["party"]),
            by=str(data["by"]),
            at=str(data["at"]),
            scan=data.get("scan"),
        )


@dataclass(frozen=True)
class Facts:
    """What the programme's rules on the exchange read besides the exchange (loaded by the service for
    the acts that need them): both registrations as they are now, the exchange holding the visitor's
    one visit, the reference data."""

    visitor: Document
    host: Document
    visiting: str | None
    reference: ReferenceData


@dataclass(frozen=True)
class Act:
    """One act on the exchange: the action, the parties it is taken for, who takes it and when, its
    arguments (as the lifecycle's guards name them), and the facts its rules read."""

    action: str
    parties: frozenset[str]
    actor: str
    at: str
    args: Mapping[str, Any] = field(default_factory=dict)
    facts: Facts | None = None
    roles: frozenset[str] | None = None  # the actor's roles, for the audit trail (None: a system actor)


@dataclass(frozen=True)
class Change:
    """A step taken: the exchange to write and what writing it causes (effects by name, the visitor's
    one visit taken or given back in the same transaction)."""

    exchange: Exchange
    effects: tuple[str, ...]
    take_visit: bool
    release_visit: bool


# The fields of the stored document the model types itself; the rest is `content`, kept as written.
_TYPED: tuple[str, ...] = (
    "id",
    "status",
    "version",
    "visitor_user",
    "host_user",
    "vop",
    "hop",
    "acted",
    "agreed",
)
_TYPED += ("validated_at", "documents", "signatures", "uploads", "updated_at")


@dataclass(frozen=True)
class Exchange:
    id: str
    status: ExchangeStatus
    version: int | None
    parties: ExchangeParties
    visitor_registration: str
    host_registration: str
    acted: Mapping[str, tuple[str, ...]]
    agreed: AgreedFacts | None
    validated_at: str | None
    documents: Mapping[str, tuple[Mapping[str, Any], ...]]
    signatures: tuple[Signature, ...]
    uploads: Mapping[str, Mapping[str, Any]]
    updated_at: str
    content: Mapping[str, Any]  # the agreed content, notes, extension, report, names...: as written

    # --- the stored shape ------------------------------------------------------------------------

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Exchange:
        return cls(
            id=doc["id"],
            status=ExchangeStatus(doc["status"]),
            version=doc.get("version"),
            parties=ExchangeParties.from_document(doc),
            visitor_registration=doc["visitor"]["registration_id"],
            host_registration=doc["host"]["registration_id"],
            acted={k: tuple(v) for k, v in (doc.get("acted") or {}).items()},
            agreed=AgreedFacts.from_dict(doc["agreed"]) if doc.get("agreed") else None,
            validated_at=doc.get("validated_at"),
            documents={k: tuple(v) for k, v in (doc.get("documents") or {}).items()},
            signatures=tuple(Signature.from_dict(s) for s in doc.get("signatures") or ()),
            uploads=dict(doc.get("uploads") or {}),
            updated_at=doc["updated_at"],
            content={k: v for k, v in doc.items() if k not in _TYPED},
        )

    def as_document(self) -> dict[str, Any]:
        p = self.parties
        return {
            **self.content,
            "id": self.id,
            "status": self.status,
            "version": self.version,
            "visitor_user": p.visitor_user,
            "host_user": p.host_user,
            "vop": p.vop,
            "hop": p.hop,
            "acted": {k: list(v) for k, v in self.acted.items()},
            "agreed": self.agreed.as_dict() if self.agreed else None,
            "validated_at": self.validated_at,
            "documents": {k: list(v) for k, v in self.documents.items()},
            "signatures": [s.as_dict() for s in self.signatures],
            "uploads": dict(self.uploads),
            "updated_at": self.updated_at,
        }

    def _with(self, **content: Any) -> Exchange:
        return replace(self, content={**self.content, **content})

    def _noted(self, **notes: str) -> Exchange:
        return self._with(notes={**(self.content.get("notes") or {}), **notes})

    # --- the table's answer ----------------------------------------------------------------------

    def allowed(self, parties: Iterable[str]) -> list[str]:
        return FLOW.allowed(self.status, parties, self.acted)

    def decide(self, act: Act) -> Step[ExchangeStatus]:
        """The flow table's step for this act on the exchange as it is: 404/403/409 and the row's
        guards, or a repeat (nothing to do)."""
        return FLOW.step(
            self.status,
            act.action,
            act.parties,
            self.acted.get(act.action, ()),
            doc=self.as_document(),
            args=act.args,
        )

    # --- what each act changes besides the status (pure; the table has allowed it) ----------------

    def apply(self, act: Act) -> Exchange:
        change = _CHANGES.get(act.action)
        return change(self, act) if change is not None else self

    def _edited(self, act: Act) -> Exchange:
        """Either participant's change to the draft's agreed fields, or the VO's bank account; any
        change clears the confirmations given so far."""
        changes = dict(act.args)
        bank_account = changes.pop("bank_account", self.content.get("bank_account"))
        if "bank_account" in act.args and bank_account is not None:
            bank_account = _checked_account(bank_account)
        edited = replace(self._with(**changes, bank_account=bank_account), acted={})
        return edited._scheduled(_facts(act))

    def _reviewed(self, act: Act) -> Exchange:
        comment = act.args.get("comment")
        return self._noted(review_comment=comment) if comment else self

    def _cancelled(self, act: Act) -> Exchange:
        return self._noted(cancel_reason=str(act.args["reason"]))

    def _declined(self, act: Act) -> Exchange:
        return self._noted(declined=f"{act.args['document']}: {act.args['reason']}")

    def _signed(self, act: Act) -> Exchange:
        """Signatures on the current version of the document for the act's parties that sign it and have
        not yet: in the tool (the hash the signer read), or by an accepted scan (`upload`, its entry as
        settled, whose uploader signs)."""
        kind, doc = str(act.args["document"]), self.as_document()
        entry = current(doc, kind)
        assert entry is not None  # the table's guards: generated, and this is its hash
        upload = act.args.get("upload")
        new = tuple(
            Signature(
                document=kind,
                version=int(entry["version"]),
                sha256=str(act.args["sha256"]),
                party=str(party),
                by=str(upload["by"]) if upload else act.actor,
                at=act.at,
                scan=str(upload["id"]) if upload else None,
            )
            for party in sorted((act.parties & FLOW.collected(act.action)) - signed_by(doc, kind))
        )
        signed = replace(self, signatures=(*self.signatures, *new))
        return signed.with_upload(upload) if upload else signed

    def _upload_requested(self, act: Act) -> Exchange:
        """A file awaited for the exchange. A signed scan signs, once accepted, for the caller's parties
        that sign its document now (the table says who), on the version current now."""
        entry = dict(act.args["upload"])
        document = act.args.get("document")
        if document is not None:
            sign = SIGN_ACTION[str(document)]
            FLOW.check(self.status, sign, act.parties)
            version = current(self.as_document(), str(document))
            assert version is not None  # the table's guard: generated
            entry.update(
                document=document,
                version=version["version"],
                sha256=version["sha256"],
                parties=sorted(act.parties & FLOW.collected(sign)),
            )
        return self.with_upload(entry)

    def with_upload(self, entry: Mapping[str, Any]) -> Exchange:
        """The exchange with this upload entry (new, or as the check settled it)."""
        return replace(self, uploads={**self.uploads, str(entry["id"]): dict(entry)})

    def _reported(self, act: Act) -> Exchange:
        return self._with(report={**act.args["report"], "submitted_at": act.at, "by": act.actor})

    def _host_feedback(self, act: Act) -> Exchange:
        return self._with(host_feedback={**act.args["feedback"], "given_at": act.at, "by": act.actor})

    def _report_decided(self, act: Act) -> Exchange:
        decision = "approve" if act.action == "approve_report" else "reject"
        report = {**(self.content.get("report") or {})}
        report.update(decision=decision, comment=act.args.get("comment"), decided_at=act.at)
        return self._with(report=report)

    def _extension_requested(self, act: Act) -> Exchange:
        """A later end date for the VOP to decide; the exchange rules must hold for it already."""
        end_date = str(act.args["end_date"])
        self._with(end_date=end_date)._scheduled(_facts(act))  # checked, not kept
        return self._with(
            extension={
                "status": EXTENSION_REQUESTED,
                "end_date": end_date,
                "from_end_date": self.content["end_date"],
                "reason": act.args["reason"],
                "requested_by": sorted(act.parties & {Party.VO, Party.HO}),
                "requested_at": act.at,
            }
        )

    def _extension_decided(self, act: Act) -> Exchange:
        """Granted, the end date changes (the rules checked again on today's data) and the documents are
        amended: a new agreed content, rendered again and signed again by the parties whose signature the
        change invalidated. Refused (with a comment), the exchange goes on as agreed."""
        grant = act.action == "grant_extension"
        extension = dict(self.content["extension"])
        decided = self._with(
            extension={
                **extension,
                "status": EXTENSION_GRANTED if grant else EXTENSION_REFUSED,
                "decided_at": act.at,
                "comment": act.args.get("comment"),
            }
        )
        if not grant:
            return decided
        amended = decided._with(end_date=extension["end_date"])._scheduled(_facts(act))
        return replace(amended, validated_at=act.at, acted={})

    def _scheduled(self, facts: Facts) -> Exchange:
        """The exchange rules applied to the agreed fields: RuleBroken (422) with every violation, else
        the exchange with its working days, skipped holidays and warnings."""
        result = check_exchange(_exchange_facts(self, facts), facts.reference)
        if result.violations:
            raise RuleBroken.from_violations(result.violations)
        return self._with(
            working_days=result.working_days.count if result.working_days else 0,
            skipped_holidays=result.skipped_holidays(),
            warnings=result.warnings,
        )

    # --- taking the step ---------------------------------------------------------------------------

    def moved(self, step: Step[ExchangeStatus], act: Act, before: Exchange) -> Change:
        """The act's step taken on the changed exchange (`self`, from `before`): the new status; a new
        validation fixes what the lump sum depends on; the collective acts start afresh in a new status,
        except signatures already on a current document, which count without being asked again; a new
        status (or signing round) sets the day its reminder falls due, or clears it (rules.reminders)."""
        moved = replace(self, status=step.status, updated_at=act.at)
        if step.status == ExchangeStatus.VALIDATED and before.status != ExchangeStatus.VALIDATED:
            moved = replace(moved, validated_at=act.at)  # the agreements are rendered for this validation
        if moved.validated_at != before.validated_at:
            moved = replace(moved, agreed=moved._agreed(before, act))
        if step.status != before.status:
            moved = replace(moved, acted={})
        elif step.acted:
            moved = replace(moved, acted={**moved.acted, act.action: tuple(sorted(step.acted))})
        doc = moved.as_document()
        status, acted = carried(moved.status, doc["acted"], doc)
        moved = replace(moved, status=status, acted={k: tuple(v) for k, v in acted.items()})
        if moved.status != before.status or moved.validated_at != before.validated_at:
            # A new condition to remind of (or none): entering a status, or a new signing round.
            moved = moved._with(remind_on=exchange_remind_on(moved.status, act.at, moved.content))
        return Change(
            exchange=moved,
            effects=tuple(e for e in step.effects if e not in IN_TRANSACTION),
            take_visit=TAKE_VISIT in step.effects,
            release_visit=RELEASE_VISIT in step.effects,
        )

    def reminded(self, due: Due, today: date) -> Exchange:
        """The exchange once its reminder due today is staged: nothing more to remind of in this
        condition, and the day shown on it when the reminder nudges someone to act."""
        shown = {"reminded_at": today.isoformat()} if due.nudge else {}
        return self._with(remind_on=None, **shown)

    def _agreed(self, before: Exchange, act: Act) -> AgreedFacts:
        """What the lump sum depends on, fixed with the content the parties sign: an amendment of an
        agreed exchange (an extension) changes its dates only; a validation from review takes the places
        the registrations hold now."""
        doc = self.as_document()
        try:
            if before.agreed is not None and before.status in AGREED:
                return amend(before.agreed, doc)
            facts = _facts(act)
            return agree(facts.visitor, facts.host, doc)
        except RuleViolation as violation:
            raise RuleBroken.from_violations([violation]) from violation

    def needs_facts(self, act: Act, step: Step[ExchangeStatus]) -> bool:
        """Whether the act's rules read the registrations (`Facts`): a check of the agreed fields, or a
        validation that fixes the agreed facts from them."""
        validates = step.status == ExchangeStatus.VALIDATED and self.status != ExchangeStatus.VALIDATED
        return act.action in _READS_FACTS or (validates and not (self.agreed and self.status in AGREED))


_CHANGES: dict[str, Callable[[Exchange, Act], Exchange]] = {
    "edit": Exchange._edited,
    "approve": Exchange._reviewed,
    "request_changes": Exchange._reviewed,
    "cancel": Exchange._cancelled,
    "decline_to_sign": Exchange._declined,
    "sign_commitment_to_quality": Exchange._signed,
    "sign_financial_agreement": Exchange._signed,
    "upload_signed_scan": Exchange._upload_requested,
    "upload_evidence": Exchange._upload_requested,
    "submit_report": Exchange._reported,
    "give_host_feedback": Exchange._host_feedback,
    "approve_report": Exchange._report_decided,
    "reject_report": Exchange._report_decided,
    "request_extension": Exchange._extension_requested,
    "grant_extension": Exchange._extension_decided,
    "refuse_extension": Exchange._extension_decided,
}
_READS_FACTS = frozenset({"edit", "request_extension", "grant_extension"})


def _facts(act: Act) -> Facts:
    if act.facts is None:
        raise ValueError(f"{act.action} reads the registrations: the service loads them (needs_facts)")
    return act.facts


def _checked_account(account: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return check_bank_account(account.get("holder"), account.get("iban"), account.get("bic")).as_dict()
    except RuleViolation as violation:
        raise RuleBroken.from_violations([violation]) from violation


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _exchange_facts(exchange: Exchange, facts: Facts) -> ExchangeFacts:
    doc, visitor, host = exchange.content, facts.visitor, facts.host
    visitor_prefs, host_prefs = visitor.get("preferences") or {}, host.get("preferences") or {}
    return ExchangeFacts(
        start_date=_day(doc["start_date"]) or date.min,
        end_date=_day(doc["end_date"]) or date.min,
        travel_days_before=doc.get("travel_days_before") or 0,
        travel_days_after=doc.get("travel_days_after") or 0,
        mode=doc.get("mode") or "physical",
        objectives=tuple(doc.get("objectives") or ()),
        activities=tuple(doc.get("activities") or ()),
        visitor_country=(visitor.get("organisation") or {}).get("country") or "",
        host_country=(host.get("organisation") or {}).get("country") or "",
        visitor_already_visited=facts.visiting not in (None, exchange.id),
        visitor_available_from=_day(visitor_prefs.get("available_from")),
        visitor_available_to=_day(visitor_prefs.get("available_to")),
        host_available_from=_day(host_prefs.get("available_from")),
        host_available_to=_day(host_prefs.get("available_to")),
        host_capacity=int((host.get("hosting") or {}).get("capacity") or 1),
        host_overlapping_exchanges=sum(
            1
            for period in (host.get("exchanges") or {}).get("hosting_periods") or []
            if period.get("exchange_id") != exchange.id
            and period["start"] <= doc["end_date"]
            and doc["start_date"] <= period["end"]
        ),
    )


def scheduled(doc: Mapping[str, Any], facts: Facts) -> dict[str, Any]:
    """A new draft (not yet an exchange) with the exchange rules applied: as `Exchange._scheduled`."""
    return Exchange.from_document(doc)._scheduled(facts).as_document()
