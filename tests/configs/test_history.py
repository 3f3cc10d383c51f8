"""The version history page, comparing two versions, a version's own page and contributors."""

import html
import re

import pytest

from configs.models import Config
from configs.selectors import newest_version, versions_of
from configs.services import config_create
from reviews import selectors
from reviews.models import ChangeRequest
from reviews.services import (
    change_request_approve,
    change_request_edit,
    change_request_open,
    change_request_publish,
    change_request_reject,
    change_request_withdraw,
)

CONFIG = "/configs/data-pipelines/company-timezones/"
HISTORY = CONFIG + "history/"
COMPARE = CONFIG + "compare/"


def timezones_with(n: int, zone: str = "UTC") -> dict:
    """The demo companies plus one more, so that every published version differs."""
    return {
        "companies": [
            {"company_id": "acme", "timezone": "America/Los_Angeles"},
            {"company_id": f"co-{n:03}", "timezone": zone},
        ]
    }


def publish(config, value, *, author, approver=None, bypass_by=None, title="A change"):
    """Propose `value`, have `approver` approve it, and publish it (or bypass, by an admin)."""
    change_request = change_request_open(
        config=config,
        author=author,
        value=value,
        title=title,
        base_version=newest_version(config).number,
    )
    if approver:
        change_request_approve(change_request=change_request, reviewer=approver)
    if bypass_by:
        return change_request_publish(
            change_request=change_request, actor=bypass_by, bypass_reason="Outage at Globex"
        )
    return change_request_publish(change_request=change_request, actor=approver)


def build_history(config, count: int, alice, bob):
    for n in range(count):
        publish(config, timezones_with(n), author=alice, approver=bob, title=f"Change {n}")


def test_history_shows_every_version_with_author_approvers_and_change_request(
    client, dave, alice, bob, carol, timezones
):
    publish(timezones, timezones_with(1), author=alice, approver=bob, title="Acme moves")
    publish(timezones, timezones_with(2), author=alice, bypass_by=carol, title="Urgent fix")
    client.force_login(dave)
    response = client.get(HISTORY)
    assert response.status_code == 200
    page = response.content.decode()
    for number in (1, 2, 3):
        assert f'id="v{number}"' in page
    approved = ChangeRequest.objects.get(title="Acme moves")
    assert f'href="/changes/{approved.pk}/"' in page
    assert "Acme moves" in page and "Urgent fix" in page
    row_v2 = page.split('id="v2"')[1].split("</tr>")[0]
    assert "alice" in row_v2 and "bob" in row_v2
    row_v3 = page.split('id="v3"')[1].split("</tr>")[0]
    assert "bypass" in row_v3 and "Outage at Globex" in row_v3
    assert "Published without the required approvals by carol" in row_v3
    row_v1 = page.split('id="v1"')[1].split("</tr>")[0]
    assert "published directly" in row_v1  # the demo's first value has no change request


def test_history_is_newest_first_and_paginated_by_fifty(client, dave, alice, bob, timezones):
    build_history(timezones, 51, alice, bob)  # versions 1..52
    client.force_login(dave)
    first = client.get(HISTORY).content.decode()
    assert "52 versions in all" in first
    assert first.index('id="v52"') < first.index('id="v51"')
    assert 'id="v3"' in first and 'id="v2"' not in first
    older = re.search(r'href="\?([^"]*)" rel="next">Older versions', first).group(1)
    second = client.get(HISTORY + "?" + html.unescape(older)).content.decode()
    assert 'id="v2"' in second and 'id="v1"' in second and 'id="v3"' not in second
    assert "Older versions" not in second
    newer = re.search(r'href="\?([^"]*)" rel="prev">&larr; Newer versions', second).group(1)
    again = client.get(HISTORY + "?" + html.unescape(newer)).content.decode()
    assert 'id="v52"' in again and 'id="v3"' in again and 'id="v2"' not in again


def test_history_shows_cancelled_and_scheduled_versions(client, dave, alice, bob, timezones):
    from datetime import timedelta

    from django.utils import timezone

    from configs.services import version_cancel

    later = timezone.now() + timedelta(days=2)
    for n, when in ((1, later), (2, later + timedelta(days=1))):
        change_request = change_request_open(
            config=timezones,
            author=alice,
            value=timezones_with(n),
            title=f"Scheduled {n}",
            base_version=newest_version(timezones).number,
        )
        change_request_approve(change_request=change_request, reviewer=bob)
        change_request_publish(change_request=change_request, actor=bob, effective_at=when)
    version_cancel(version=versions_of(timezones).get(number=3), actor=bob, reason="Not yet")
    client.force_login(dave)
    page = client.get(HISTORY).content.decode()
    assert "cancelled by bob" in page.split('id="v3"')[1].split("</tr>")[0]
    assert "scheduled" in page.split('id="v2"')[1].split("</tr>")[0]
    assert "live" in page.split('id="v1"')[1].split("</tr>")[0]


@pytest.mark.parametrize("versions", [3, 30])
def test_history_page_does_a_fixed_number_of_queries(
    client, dave, alice, bob, timezones, versions, django_assert_max_num_queries
):
    build_history(timezones, versions, alice, bob)
    client.force_login(dave)
    with django_assert_max_num_queries(12):
        response = client.get(HISTORY)
    assert response.content.decode().count('name="to"') == versions + 1


@pytest.mark.parametrize("configs", [3, 30])
def test_config_list_does_a_fixed_number_of_queries(
    client, alice, carol, configs, django_assert_max_num_queries
):
    namespace = Config.objects.get(key="legacy-fields").namespace
    for n in range(configs):
        config_create(
            namespace=namespace,
            key=f"extra-{n:02}",
            name=f"Extra {n}",
            value={"n": n},
            actor=carol,
            owners=[carol, alice],
        )
    client.force_login(alice)
    with django_assert_max_num_queries(8):
        page = client.get("/configs/").content.decode()
    assert "carol, alice" in page or "alice, carol" in page


def test_config_list_shows_owners_and_filters_by_owner(client, dave):
    client.force_login(dave)
    page = client.get("/configs/", {"owner": "bob"}).content.decode()
    assert "company-timezones" in page and "warehouse-connections" in page
    assert "custom-metrics" not in page and "legacy-fields" not in page
    row = page.split('<div class="help">company-timezones')[1].split("</tr>")[0]
    assert "bob" in row


def test_compare_shows_each_changed_path_in_words_and_side_by_side(
    client, dave, alice, bob, timezones
):
    publish(
        timezones,
        {
            "companies": [
                {"company_id": "acme", "timezone": "America/Los_Angeles"},
                {"company_id": "globex", "timezone": "Asia/Tokyo"},
                {"company_id": "hooli", "timezone": "UTC"},
            ]
        },
        author=alice,
        approver=bob,
    )
    client.force_login(dave)
    response = client.get(COMPARE, {"from": 1, "to": 2})
    assert response.status_code == 200
    page = response.content.decode()
    table = page.split('id="diff-table"')[1].split("</table>")[0]
    assert "Companies → globex → Timezone: Europe/Berlin → Asia/Tokyo" in table
    assert "/companies/1/timezone" in table
    assert "Companies: added hooli (UTC)" in table
    assert "Companies: removed initech (Asia/Tokyo)" in table
    assert "Switch over at: removed (was Tue 1 Dec 2026, 00:00 UTC)" in table
    assert "side-by-side" in page and "Version 1" in page and "Version 2" in page
    # Either way round.
    backwards = client.get(COMPARE, {"from": 2, "to": 1}).content.decode()
    assert "Companies → globex → Timezone: Asia/Tokyo → Europe/Berlin" in backwards


def test_compare_of_one_version_with_itself_says_so(client, dave, timezones):
    client.force_login(dave)
    page = client.get(COMPARE, {"from": 1, "to": 1}).content.decode()
    assert "You picked version 1 twice" in page


@pytest.mark.parametrize(
    "query", [{"from": 1, "to": 9}, {"from": 7, "to": 1}, {"from": "x", "to": 1}]
)
def test_compare_of_an_unknown_version_is_404(client, dave, timezones, query):
    client.force_login(dave)
    assert client.get(COMPARE, query).status_code == 404


# "²" passes str.isdigit() but not int(); int() reads "١" as 1; ten digits may not fit the
# database.
NOT_A_VERSION_NUMBER = ["²", "١", "1²", " 1", "+1", "-1", "1.0", "0x1", "1_0", "1234567890"]


@pytest.mark.parametrize("raw", NOT_A_VERSION_NUMBER)
def test_compare_with_a_version_number_that_is_not_plain_digits_is_404(
    client, dave, timezones, raw
):
    client.force_login(dave)
    assert client.get(COMPARE, {"from": raw, "to": 1}).status_code == 404
    assert client.get(COMPARE, {"from": 1, "to": raw}).status_code == 404


@pytest.mark.parametrize("raw", NOT_A_VERSION_NUMBER + ["999999999"])
def test_a_version_address_with_a_number_that_is_not_a_version_is_404(
    client, carol, timezones, raw
):
    from urllib.parse import quote

    version = f"{CONFIG}versions/{quote(raw)}/"
    client.force_login(carol)
    assert client.get(version).status_code == 404
    assert client.post(version + "restore/", {"reason": "Back to before"}).status_code == 404
    assert client.post(version + "cancel/", {"reason": "Too early"}).status_code == 404
    assert not ChangeRequest.objects.exists()


def test_compare_without_two_versions_goes_back_to_the_history(client, dave, timezones):
    client.force_login(dave)
    response = client.get(COMPARE, {"from": 1})
    assert response.status_code == 302 and response.url == HISTORY


def test_version_page_shows_who_when_why_and_what_changed(client, dave, alice, bob, timezones):
    publish(timezones, timezones_with(1, "Asia/Tokyo"), author=alice, approver=bob, title="Why")
    client.force_login(dave)
    page = client.get("/configs/data-pipelines/company-timezones/versions/2/").content.decode()
    assert "Approved by</dt><dd>bob" in page
    assert "Proposed by</dt><dd>alice" in page
    assert "Companies: added co-001 (Asia/Tokyo)" in page
    assert client.get("/configs/data-pipelines/company-timezones/versions/9/").status_code == 404


@pytest.mark.parametrize(
    "url, here",
    [
        (HISTORY, "History"),
        (COMPARE + "?from=1&to=2", "Compare version 1 → 2"),
        (CONFIG + "versions/2/", "Version 2"),
    ],
)
def test_history_pages_show_the_way_back_through_namespace_config_and_history(
    client, dave, alice, bob, timezones, url, here
):
    publish(timezones, timezones_with(1), author=alice, approver=bob)
    client.force_login(dave)
    page = client.get(url).content.decode()
    crumbs = page.split('<div class="breadcrumbs">')[1].split("</div>")[0]
    links = [
        '<a href="/">Home</a>',
        '<a href="/configs/">Configs</a>',
        '<a href="/configs/?namespace=data-pipelines">Data pipelines</a>',
        f'<a href="{CONFIG}">{timezones.name}</a>',
    ]
    if here != "History":
        links.append(f'<a href="{HISTORY}">History</a>')
    positions = [crumbs.index(link) for link in links]
    assert positions == sorted(positions)
    assert crumbs.rstrip().endswith(here)
    assert "&lsaquo; Back to" in page


@pytest.mark.parametrize(
    "url",
    [
        HISTORY,
        COMPARE + "?from=1&to=1",
        "/configs/data-pipelines/company-timezones/versions/1/",
    ],
)
def test_people_outside_the_namespace_get_404(client, erin, timezones, url):
    client.force_login(erin)
    assert client.get(url).status_code == 404


def test_config_page_links_the_history_and_shows_contributors(
    client, dave, alice, bob, carol, timezones
):
    publish(timezones, timezones_with(1), author=alice, approver=bob)
    publish(timezones, timezones_with(2), author=alice, approver=bob)
    client.force_login(dave)
    page = client.get("/configs/data-pipelines/company-timezones/").content.decode()
    assert f'href="{HISTORY}"' in page
    box = page.split('id="contributors"')[1].split("</section>")[0]
    rows = {row.split("</th>")[0]: row for row in box.split('<th scope="row">')[1:]}
    assert set(rows) == {"alice", "bob", "carol"}
    # Proposed, approved, published.
    assert "<td>2</td>\n          <td>—</td>\n          <td>—</td>" in rows["alice"]
    assert "<td>—</td>\n          <td>2</td>\n          <td>2</td>" in rows["bob"]


def test_contributors_counts_proposals_approvals_and_publishes(alice, bob, carol, timezones):
    publish(timezones, timezones_with(1), author=alice, approver=bob)
    publish(timezones, timezones_with(2), author=alice, approver=bob)
    publish(timezones, timezones_with(3), author=bob, bypass_by=carol)
    people = {c.username: c for c in selectors.contributors(timezones)}
    assert (people["alice"].proposed, people["alice"].approved, people["alice"].published) == (
        2,
        0,
        0,
    )
    assert (people["bob"].proposed, people["bob"].approved, people["bob"].published) == (1, 2, 2)
    # carol created the config (version 1) and published the bypass.
    assert (people["carol"].proposed, people["carol"].published) == (0, 2)
    assert people["carol"].last_seen == versions_of(timezones).get(number=4).published_at
    assert list(people) == ["carol", "bob", "alice"]  # most recently active first


def test_contributors_count_only_approvals_that_stood_on_a_published_change(
    client, dave, alice, bob, carol, timezones
):
    withdrawn = change_request_open(
        config=timezones, author=alice, value=timezones_with(1), title="Withdrawn", base_version=1
    )
    change_request_approve(change_request=withdrawn, reviewer=bob)
    change_request_withdraw(change_request=withdrawn, actor=alice)
    rejected = change_request_open(
        config=timezones, author=alice, value=timezones_with(2), title="Rejected", base_version=1
    )
    change_request_approve(change_request=rejected, reviewer=carol)
    change_request_reject(change_request=rejected, actor=bob, reason="Not Globex's timezone")
    published = change_request_open(
        config=timezones, author=alice, value=timezones_with(3), title="Published", base_version=1
    )
    change_request_approve(change_request=published, reviewer=carol)
    # The edit dismisses carol's approval: she approved a value that was never published.
    change_request_edit(change_request=published, actor=alice, value=timezones_with(4))
    change_request_approve(change_request=published, reviewer=bob)
    version = change_request_publish(change_request=published, actor=bob)

    people = {c.username: c for c in selectors.contributors(timezones)}
    assert people["bob"].approved == 1
    assert people["carol"].approved == 0
    assert people["alice"].proposed == 3
    # The same people the history names as approvers.
    assert selectors.approvers_of(version) == ["bob"]
    client.force_login(dave)
    page = client.get(CONFIG).content.decode()
    box = page.split('id="contributors"')[1].split("</section>")[0]
    carol_row = box.split('<th scope="row">carol</th>')[1].split("</tr>")[0]
    assert "<td>—</td>\n          <td>—</td>\n          <td>1</td>" in carol_row


@pytest.mark.parametrize("versions", [2, 20])
def test_contributors_take_a_fixed_number_of_queries(
    alice, bob, timezones, versions, django_assert_num_queries
):
    build_history(timezones, versions, alice, bob)
    with django_assert_num_queries(4):
        selectors.contributors(timezones)


def test_contributors_cover_the_newest_versions_only_and_the_page_says_so(
    client, dave, alice, bob, carol, timezones, monkeypatch
):
    build_history(timezones, 4, alice, bob)
    publish(timezones, timezones_with(9), author=alice, bypass_by=carol, title="Late fix")

    people = {c.username: c for c in selectors.contributors(timezones, window=2)}

    # The newest two versions: bob published the one before carol's bypass.
    assert people["carol"].published == 1
    assert people["bob"].published == 1
    monkeypatch.setattr("reviews.selectors.CONTRIBUTORS_WINDOW", 2)
    client.force_login(dave)
    page = client.get("/configs/data-pipelines/company-timezones/").content.decode()
    assert "Counted over the newest 2 versions" in page
