"""Empty dates look empty, examples of times to type are never past, and the note about dates
inside a value names the config's own date fields (issue 28, items 3 and 9)."""

from datetime import timedelta

from django.utils import timezone

TIMEZONES = "/configs/data-pipelines/company-timezones/"
METRICS = "/configs/sales-ops/custom-metrics/"


def tomorrow_morning() -> str:
    tomorrow = timezone.now() + timedelta(days=1)
    return f"{tomorrow:%Y-%m-%d} 09:00"


def test_an_empty_switch_over_at_shows_no_date_on_the_config_page_or_the_form(client, alice):
    client.force_login(alice)
    for url in [TIMEZONES, TIMEZONES + "edit/"]:
        page = client.get(url).content.decode()
        assert "Switch over at" in page
        assert "placeholder" not in page  # the widget's schema is in the page: no grey example
        assert "2026-11-30 00:00" not in page


def test_the_form_gives_an_example_time_that_is_not_past(client, alice):
    client.force_login(alice)
    page = client.get(TIMEZONES + "edit/").content.decode()
    assert f"for example {tomorrow_morning()}" in page


def test_the_edit_note_names_the_configs_own_date_field(client, alice):
    client.force_login(alice)
    assert "such as “Switch over at”" in client.get(TIMEZONES + "edit/").content.decode()


def test_a_config_without_dates_says_nothing_about_switch_over_at(client, carol):
    client.force_login(carol)
    page = client.get(METRICS + "edit/").content.decode()
    assert "Switch over at" not in page
    assert "Times are in UTC" in page


def test_the_publish_form_has_no_placeholder_and_an_example_of_tomorrow(client, carol):
    client.force_login(carol)  # sales-ops needs no approval: the edit page has "Take effect at"
    page = client.get(METRICS + "edit/").content.decode()
    field = page.split('id="publish-effective-at"', 1)[1].split(">", 1)[0]
    assert "placeholder" not in field
    assert f"for example {tomorrow_morning()}" in page


def test_a_change_request_on_a_config_without_dates_says_nothing_about_switch_over_at(
    client, alice, bob
):
    from configs.models import Config
    from configs.selectors import newest_version
    from reviews.services import change_request_approve, change_request_open

    config = Config.objects.get(key="warehouse-connections")
    value = newest_version(config).value
    value["connections"][0]["schema"] = "EVENTS_V2"
    change = change_request_open(
        config=config, author=alice, value=value, title="Acme events v2", base_version=1
    )
    change_request_approve(change_request=change, reviewer=bob)
    client.force_login(bob)
    page = client.get(change.get_absolute_url()).content.decode()
    assert "Take effect at" in page and "Switch over at" not in page
