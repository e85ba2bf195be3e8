"""The local stack's seed: partnerships and a demo population worth matching against."""

from __future__ import annotations

import boto3

from chalicelib import reference
from chalicelib.services import reference as reference_service
from chalicelib.store import catalogue
from infra.seed import seed_demo_population, seed_partnerships


def test_demo_population_is_accepted_and_covers_every_country_ecosystem_and_type(aws):
    # Given
    seed_partnerships()
    idp = boto3.client("cognito-idp", region_name="eu-west-1")
    # When
    logins = seed_demo_population(idp, aws.user_pool_id, 240)
    # Then
    accepted = catalogue.read_accepted()
    assert len(logins) == len(accepted) == 240
    assert {d["organisation"]["country"] for d in accepted} == reference.eligible_countries()
    assert {e for d in accepted for e in d["organisation"]["ecosystems"]} == set(reference.ecosystems())
    assert {d["organisation"]["type"] for d in accepted} == set(reference.organisation_types())
    assert all(d["organisation"]["location"] for d in accepted)
    for d in accepted:
        org_type = reference.organisation_types()[d["organisation"]["type"]]
        assert "visitor" not in d["roles"] or org_type.may_visit
        assert d["partnership_id"] in reference_service.partnership_ids()
    # Each demo login is a Cognito user whose id is the registration's user
    user = idp.admin_get_user(UserPoolId=aws.user_pool_id, Username=logins[0])
    sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    assert sub in {d["user_id"] for d in accepted}
