"""The suite-wide guard (tests/conftest.py) records a DynamoDB Scan made by the project's code, and only
that: a test's own Scan is its business."""

from __future__ import annotations

import boto3
from moto import mock_aws


def _make_table(dynamodb):
    dynamodb.create_table(
        TableName="probe",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_a_scan_from_app_code_is_recorded_and_one_from_a_test_is_not(app_scans):
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        _make_table(dynamodb)
        # Given a test's own Scan: not recorded
        dynamodb.scan(TableName="probe")
        assert app_scans == []
        # When code of a chalicelib module scans (a function whose globals name such a module)
        namespace = {"__name__": "chalicelib.store.probe", "client": dynamodb}
        exec("def read_all():\n    return client.scan(TableName='probe')\n", namespace)
        namespace["read_all"]()
        # Then the guard recorded it (and would fail this test at teardown)
        assert app_scans == ["Scan of probe from chalicelib.store.probe.read_all"]
        app_scans.clear()
