"""Routes: what the signed-in caller chooses to receive by e-mail."""

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from chalicelib.handlers.http import Api, ApiModel, Call, Versioned, omittable

if TYPE_CHECKING:
    from chalicelib.services import preferences as service
else:
    from chalicelib.lazy import lazy

    service = lazy("chalicelib.services.preferences")

api = Api(__name__, tag="meta")

Digest = Literal["none", "daily"]


class NoticeOut(ApiModel):
    name: str
    step: str = Field(description="What happened, in the programme's words")
    essential: bool = Field(description="Sent whatever the preferences: it asks to act or concerns money")
    digest: bool = Field(
        description="Waits for a partnership: in the daily digest of an officer who chose it"
    )


class NotificationPreferences(ApiModel):
    optional: bool = Field(description="Whether the non-essential messages are sent")
    digest: Digest = Field(
        description="daily: a partnership officer gets one mail a business day listing what waits for "
        "the partnership, instead of one mail for each such event"
    )
    version: int = Field(description="0 until first changed")
    updated_at: str | None
    notices: list[NoticeOut] = Field(
        description="Every message the service sends, and whether it may be turned off"
    )


class NotificationPreferencesPatch(Versioned):
    optional: bool = omittable()
    digest: Digest = omittable()


@api.route("/v1/me/notifications", summary="What the caller receives by e-mail")
def get_notification_preferences(call: Call) -> NotificationPreferences:
    return NotificationPreferences.model_validate(service.get(call.user))


@api.route(
    "/v1/me/notifications", "PATCH", summary="Turn off non-essential messages, or choose the daily digest"
)
def change_notification_preferences(
    call: Call, body: NotificationPreferencesPatch
) -> NotificationPreferences:
    return NotificationPreferences.model_validate(
        service.update(call.user, body.optional, body.digest, body.version)
    )
