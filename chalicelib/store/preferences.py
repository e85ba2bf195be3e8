"""Recipients' choices of what they receive (the preferences table)."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.store.models import PreferenceModel
from chalicelib.store.writes import StaleVersion

NONE, DAILY = "none", "daily"


@dataclass(frozen=True)
class Preferences:
    optional: bool = True
    digest: str = NONE
    version: int = 0
    created_at: str | None = None
    updated_at: str | None = None


def from_model(model: PreferenceModel) -> Preferences:
    return Preferences(
        optional=bool(model.optional),
        digest=model.digest or NONE,
        version=int(model.version or 0),
        created_at=model.created_at,
        updated_at=model.updated_at,
    )


def get(address: str) -> Preferences:
    try:
        return from_model(PreferenceModel.get(address.lower(), consistent_read=True))
    except DoesNotExist:
        return Preferences()


def put(
    address: str,
    read: Preferences,
    user_id: str,
    optional: bool,
    digest: str,
    partnership_id: str | None,
    now: str,
) -> Preferences:
    """Save an address's choice if it is still as `read`; StaleVersion when another write came first."""
    model = PreferenceModel(
        address=address.lower(),
        user_id=user_id,
        optional=optional,
        digest=digest,
        digest_partnership=partnership_id if digest == DAILY else None,
        created_at=read.created_at or now,
        updated_at=now,
    )
    if read.version:
        model.version = read.version  # the VersionAttribute's condition: unchanged since read
    try:
        model.save()
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise StaleVersion(address) from exc
        raise
    return from_model(model)


def digest_addresses(partnership_id: str) -> list[str]:
    """The addresses that get this partnership's daily digest."""
    return [m.address for m in PreferenceModel.by_digest.query(partnership_id)]
