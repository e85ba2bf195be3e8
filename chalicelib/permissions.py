"""What each Lambda function's code may do in AWS, one row a function: the table its role is written
from (infra.template) and the one the test suite checks every AWS call the code makes against
(tests/aws_calls.py). What Lambda itself does with the role (logs, reading a stream or a queue the
function is mapped to, sending a failed batch to its destination) is added by the template."""

from __future__ import annotations

from dataclasses import dataclass

# What a grant's actions apply to; infra.template names each one's ARNs.
TABLES = "tables"  # every table of the app and its indexes
DOCUMENTS = "documents"  # objects of the documents bucket (users' uploads)
DOCUMENTS_BUCKET = "documents-bucket"  # the documents bucket itself (listing)
ARTIFACTS = "artifacts"  # objects of the artifacts bucket (the service's own files)
ARTIFACTS_BUCKET = "artifacts-bucket"  # the artifacts bucket itself
EXPORTS = "exports"  # objects under the artifacts bucket's exports prefix (large CSV exports)
MAIL = "mail"  # the SES identity mail is sent from
USER_POOL = "user-pool"  # the Cognito user pool
PAYMENTS_QUEUE = "payments-queue"  # the finance function's queue of payment instructions
CURSOR_SECRET = "cursor-secret"  # the secret list cursors are signed with (chalicelib.cursors)


@dataclass(frozen=True)
class Grant:
    on: str
    actions: tuple[str, ...]


def grant(on: str, *actions: str) -> Grant:
    return Grant(on, actions)


# A transaction (TransactWriteItems) is allowed by its parts' actions: PutItem for a save, UpdateItem for
# an update, DeleteItem for a delete; it has no action of its own.
_GET, _QUERY = "dynamodb:GetItem", "dynamodb:Query"
_BATCH_GET = "dynamodb:BatchGetItem"  # the few items a rule reads besides its object; changed registrations
_PUT, _UPDATE, _DELETE = "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"

_SEND = ("sqs:SendMessage",)  # the queue's URL is a setting

PERMISSIONS: dict[str, tuple[Grant, ...]] = {
    # Every route. Uploads are presigned POSTs and downloads presigned GETs: the signer's role grants them.
    "api_handler": (
        # DescribeTable and ListBucket (HeadBucket): the operators' readiness check only.
        grant(TABLES, _GET, _BATCH_GET, _QUERY, _PUT, _UPDATE, _DELETE, "dynamodb:DescribeTable"),
        grant(DOCUMENTS, "s3:PutObject", "s3:GetObject", "s3:DeleteObject"),
        grant(ARTIFACTS, "s3:GetObject"),
        grant(DOCUMENTS_BUCKET, "s3:ListBucket"),
        grant(ARTIFACTS_BUCKET, "s3:ListBucket"),
        grant(CURSOR_SECRET, "secretsmanager:GetSecretValue"),  # read once an hour (chalicelib.cursors)
        # A large export is written there and handed out as a presigned GET (signed by this role).
        grant(EXPORTS, "s3:PutObject", "s3:GetObject"),
    ),
    # Verifies tokens against Cognito's public keys (HTTPS, no AWS call).
    "cognito_token": (),
    # The catalogue's note of a changed registration (one counter item).
    "on_registration_change": (grant(TABLES, _UPDATE),),
    # The effects of committed changes: agreements rendered, registrations' summaries, payments created
    # and queued, mail; a withdrawal's: the participant's exchanges and contact requests found by their
    # indexes, cancelled (the visit guard given back) or pseudonymised, pending ones closed (their pair
    # guards deleted); each outbox item claimed and marked (UpdateItem).
    # Mail reads its recipients' preferences in one BatchGetItem.
    "deliver_effects": (
        grant(TABLES, _GET, _BATCH_GET, _QUERY, _PUT, _UPDATE, _DELETE),
        grant(ARTIFACTS, "s3:PutObject"),
        grant(MAIL, "ses:SendEmail"),
        grant(PAYMENTS_QUEUE, *_SEND),
    ),
    # Each stream record's change: its marker put and the counter items updated, in one transaction.
    "count_statistics": (grant(TABLES, _PUT, _UPDATE),),
    "on_document_uploaded": (
        grant(TABLES, _GET, _PUT),
        grant(DOCUMENTS, "s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
    ),
    # The transfer: idempotency records (put, update, delete on failure), the SEPA file, the ledger.
    # The debtor's account is the partnership's, read by the one Query partnerships are read with.
    "on_payment_instruction": (
        grant(TABLES, _GET, _QUERY, _PUT, _UPDATE, _DELETE),
        grant(ARTIFACTS, "s3:PutObject"),
    ),
    "on_payment_dead_letter": (grant(TABLES, _GET, _PUT),),
    "on_user_confirmed": (grant(USER_POOL, "cognito-idp:AdminAddUserToGroup"),),
    # Besides its own steps (the dates' steps, the reminders found through the sparse indexes and
    # recorded with their effects, overdue payments), the schedule re-drives effects the outbox's stream
    # did not deliver, so it may do what the dispatcher does.
    "tick": (
        grant(TABLES, _GET, _BATCH_GET, _QUERY, _PUT, _UPDATE, _DELETE),
        grant(ARTIFACTS, "s3:GetObject", "s3:PutObject"),  # the last build's documents, the new build
        grant(MAIL, "ses:SendEmail"),
        grant(PAYMENTS_QUEUE, *_SEND),
    ),
}


def allowed_actions(function: str) -> frozenset[str]:
    return frozenset(action for g in PERMISSIONS.get(function, ()) for action in g.actions)
