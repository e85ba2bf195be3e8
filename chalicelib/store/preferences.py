"""Recipients' choices of what they receive (the preferences table)."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist

from chalicelib.store.models import PreferenceModel

NONE, DAILY = "none", "daily"


@dataclass(frozen=True)
class Preferences:
    optional: bool = True
    digest: str = NONE
    version: int = 0
    updated_at: str | None = None


def _preferences(model: PreferenceModel) -> Preferences:
    return Preferences(
        optional=bool(model.optional),
        digest=model.digest or NONE,
        version=int(model.version or 0),
        updated_at=model.updated_at,
    )


def get(address: str) -> Preferences:
    try:
        return _preferences(PreferenceModel.get(address.lower(), consistent_read=True))
    except DoesNotExist:
        return Preferences()


def get_many(addresses: list[str]) -> dict[str, Preferences]:
    """The choices of those of these (lower-cased) addresses that made one."""
    return {model.address: _preferences(model) for model in PreferenceModel.batch_get(addresses)}


def put(
    address: str, user_id: str, optional: bool, digest: str, partnership_id: str | None, now: str
) -> Preferences:
    """Save an address's choice (last writer wins: it is its owner's own setting)."""
    key = address.lower()
    try:
        model = PreferenceModel.get(key, consistent_read=True)
    except DoesNotExist:
        model = PreferenceModel(address=key, created_at=now)
    model.user_id = user_id
    model.optional = optional
    model.digest = digest
    model.digest_partnership = partnership_id if digest == DAILY else None
    model.updated_at = now
    model.save()
    return _preferences(model)


def digest_addresses(partnership_id: str) -> list[str]:
    """The addresses that get this partnership's daily digest."""
    return [m.address for m in PreferenceModel.by_digest.query(partnership_id)]
