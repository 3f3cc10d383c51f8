"""What a context gets of a flag with overrides, as OFREP says it (the rules themselves are the
shared engine's, tested in tests/evaluation)."""

import json

import pytest

from configs import ofrep

GLOBEX = {
    "name": "globex-and-initech",
    "when": [{"attribute": "company", "op": "in", "values": ["globex", "initech"]}],
    "value": {"timezone": "America/Chicago"},
}
ROLLOUT = {
    "name": "rollout",
    "split": {
        "by": "targetingKey",
        "buckets": [{"percent": 10, "value": "new"}, {"percent": 90, "value": "old"}],
    },
}


def flag(*overrides, value='{"timezone":"UTC"}'):
    return ofrep.Flag(1, "sales-ops", "custom-metrics", 3, value, tuple(overrides), "production")


def answer(flag, context, key="custom-metrics"):
    return json.loads(ofrep.evaluate(flag, key, context))


def test_a_context_an_override_matches_gets_its_value_its_name_as_variant():
    got = answer(flag(GLOBEX), {"company": "globex"})

    assert got == {
        "key": "custom-metrics",
        "value": {"timezone": "America/Chicago"},
        "reason": "TARGETING_MATCH",
        "variant": "globex-and-initech",
        "metadata": {"namespace": "sales-ops", "version": 3, "environment": "production"},
    }


def test_another_context_gets_the_value_as_default():
    got = answer(flag(GLOBEX), {"company": "acme"})

    assert (got["value"], got["reason"], got["variant"]) == (
        {"timezone": "UTC"},
        "DEFAULT",
        "default",
    )


def test_a_split_serves_the_same_bucket_for_the_same_key_every_time():
    answers = {json.dumps(answer(flag(ROLLOUT), {"targetingKey": "user-42"})) for _ in range(5)}

    (only,) = answers
    assert json.loads(only)["reason"] == "SPLIT"
    assert json.loads(only)["variant"].startswith("rollout/")


def test_a_split_without_targeting_key_is_targeting_key_missing():
    with pytest.raises(ofrep.FlagError) as refused:
        ofrep.evaluate(flag(ROLLOUT), "custom-metrics", {})

    assert (refused.value.code, refused.value.status) == ("TARGETING_KEY_MISSING", 400)


def test_bulk_puts_a_flag_s_error_in_its_place_and_answers_the_others():
    body = json.loads(
        ofrep.bulk_body([("a", flag(ROLLOUT)), ("b", flag(GLOBEX))], {"company": "globex"}, [])
    )

    assert body["flags"][0]["errorCode"] == "TARGETING_KEY_MISSING"
    assert body["flags"][1]["reason"] == "TARGETING_MATCH"


def test_the_bulk_etag_follows_the_context_only_where_an_answer_depends_on_it():
    static = [("a", flag())]
    targeted = [("a", flag(GLOBEX))]

    assert ofrep.bulk_etag(static, {"company": "x"}, False) == ofrep.bulk_etag(static, {}, False)
    assert ofrep.bulk_etag(targeted, {"company": "x"}, False) != ofrep.bulk_etag(
        targeted, {}, False
    )


def test_a_flag_whose_overrides_match_patterns_is_left_to_django_s_threads():
    pattern = {
        "name": "p",
        "when": [{"attribute": "email", "op": "matches", "values": ["@x$"]}],
        "value": 1,
    }

    assert ofrep.matches_patterns(flag(pattern))
    assert not ofrep.matches_patterns(flag(GLOBEX))


def test_kept_flags_stay_within_the_byte_budget(settings, demo):
    from configs.models import Version

    settings.PREPARED_CACHE_BYTES = 2_000
    ofrep.forget()
    ids = list(Version.objects.values_list("id", flat=True))

    found = ofrep.flags_of(ids)

    assert len(ids) >= 4 and set(found) == set(ids)  # every flag asked for is answered
    assert 0 < len(ofrep._flags) < len(ids)  # the oldest made room
    assert sum(ofrep._flag_size(f) for f in ofrep._flags.values()) <= 2_000
    assert ofrep._sizes["flags"] == sum(ofrep._flag_size(f) for f in ofrep._flags.values())
