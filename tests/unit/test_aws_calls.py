"""The suite's AWS call counter (tests/aws_calls.py): attribution, IAM action names, the verdict."""

from __future__ import annotations

from collections import Counter

import boto3
from moto import mock_aws

from chalicelib import permissions
from tests import aws_calls


def test_a_call_outside_any_function_is_not_counted():
    assert aws_calls.entry_point() is None


def test_transactions_and_heads_are_named_by_the_actions_that_allow_them():
    items = {"TransactItems": [{"Put": {}}, {"Update": {}}, {"Delete": {}}]}
    assert aws_calls.iam_actions("dynamodb", "TransactWriteItems", items, presigned=False) == {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    assert aws_calls.iam_actions("s3", "HeadObject", {}, presigned=False) == {"s3:GetObject"}
    # botocore signs a presigned POST with CreateBucket's model: what it allows is an upload
    assert aws_calls.iam_actions("s3", "CreateBucket", {}, presigned=True) == {"s3:PutObject"}
    assert aws_calls.iam_actions("s3", "CreateBucket", {}, presigned=False) == {"s3:CreateBucket"}


def test_a_presigned_post_is_recorded_as_an_upload_to_the_documents_bucket(monkeypatch):
    # A counter of its own: this made-up call must not count as the real function's.
    monkeypatch.setattr(aws_calls, "calls", Counter())

    # Given a presigned POST made from inside a function named like one of app.py's
    def tick():  # attribution reads the frame's name and file
        with mock_aws():
            boto3.client("s3", region_name="eu-west-1").generate_presigned_post("cxc-test-documents", "k")

    tick.__code__ = tick.__code__.replace(co_filename=aws_calls._APP)
    # When
    tick()
    # Then
    assert aws_calls.calls == Counter({("tick", "s3:PutObject on documents"): 1})


def test_a_call_the_role_does_not_allow_is_a_problem_and_an_unused_grant_only_on_a_whole_run():
    seen = Counter({("tick", "s3:DeleteObject on documents"): 2})
    problems = aws_calls.check(seen, whole_suite=False)
    (problem,) = problems
    assert problem.startswith("tick calls s3:DeleteObject on documents (2x) but its role does not allow it")
    whole = aws_calls.check(seen, whole_suite=True)
    unused = [p for p in whole if "no test saw it" in p]
    granted = sum(len(g.actions) for grants in permissions.PERMISSIONS.values() for g in grants)
    assert len(unused) == granted


def test_a_call_through_the_no_scan_guard_still_counts_as_the_functions(monkeypatch, app_scans):
    """The no-Scan guard (autouse, tests/conftest.py) once wrapped botocore's call entry and so stood as
    test code on the stack of every API call the app made, hiding them all from the counter; it now
    reads the counter's own hook, and a call with the guard active counts as the function's."""
    monkeypatch.setattr(aws_calls, "calls", Counter())

    def tick():
        with mock_aws():
            boto3.client("sqs", region_name="eu-west-1").list_queues()

    tick.__code__ = tick.__code__.replace(co_filename=aws_calls._APP)
    tick()
    assert aws_calls.calls == Counter({("tick", "sqs:ListQueues on queue "): 1})
