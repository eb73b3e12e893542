"""The jury's meeting over HTTP on both databases: Claire switches the aggregator and the panel
weights in the console (a clear 400 that keeps what she typed), reads each panel's and each
juror's scores, forbids a pair whose review was submitted (kept, shown as not counted with the
reason) and sets the jurors' loads on the jury desk."""

from __future__ import annotations

import html
import re

from grants.demo import DEMO_PASSWORD
from grants.models import Application, ApplicationStatus, AuditEvent, Panel, PanelMember, Review
from tests.services.test_ranking_meeting import A, B, _experts_disagree, _setup
from tests.web.pages import field_error, location

ORGANISER = "organiser@demo.prevention-prize.eu"


async def _claire(make_browser):
    claire = await make_browser("198.51.100.2")
    await claire.log_in(ORGANISER, DEMO_PASSWORD)
    return claire


def _order(page) -> list[str]:
    return [r for r in re.findall(r'<td class="ref">(EPP-2027-\d+)</td>', page.text) if r in (A, B)]


async def test_the_organiser_switches_the_method_and_reads_every_score(demo, make_browser):
    _organiser, edition, members = await _setup()
    await _experts_disagree(edition, members)
    expert, youth = await Panel.filter(edition=edition).order_by("id")
    claire = await _claire(make_browser)
    page = await claire.page("/manage/epp-2027/ranking")
    assert _order(page)[:2] == [B, A]  # the mean
    for name in ("Anna Weber", "Marco Bianchi", "Olena Kovalenko", "Score of Expert jury"):
        assert name in html.unescape(page.text)

    typed = {"aggregator": "median", f"weight_{expert.id}": "-1", f"weight_{youth.id}": "0.3"}
    refused = await claire.submit("/manage/epp-2027/ranking/method", typed)
    assert refused.status_code == 400
    assert field_error(refused, f"weight_{expert.id}")
    assert f'name="weight_{expert.id}" type="text" value="-1"' in refused.text
    assert '<option value="median" selected>' in refused.text

    typed[f"weight_{expert.id}"] = "0.7"
    response = await claire.submit("/manage/epp-2027/ranking/method", typed)
    assert location(response) == "/manage/epp-2027/ranking"
    page = await claire.page("/manage/epp-2027/ranking")
    assert _order(page)[:2] == [A, B]  # the median
    assert '<option value="median" selected>' in page.text


async def test_a_forbidden_pair_keeps_its_review_and_loads_are_set_on_the_desk(demo, make_browser):
    _organiser, edition, members = await _setup()
    await _experts_disagree(edition, members)
    anna, marco = members["juror1"], members["juror2"]
    claire = await _claire(make_browser)
    await claire.page("/manage/epp-2027/jury")
    forbid = {"member_id": str(anna.id), "reference": A, "reason": "She mentored them."}
    assert location(await claire.submit("/manage/epp-2027/jury/forbid", forbid)) == (
        "/manage/epp-2027/jury"
    )
    assert await Review.filter(assignment__juror_id=anna.user_id).count() == 2
    assert await AuditEvent.exists(action="review.excluded")
    page = await claire.page("/manage/epp-2027/ranking")
    excluded = page.text.split('id="excluded-reviews"')[1].split("</table>")[0]
    assert A in excluded and "Anna Weber" in excluded and "She mentored them." in excluded

    typed = {f"min_load_{marco.id}": "4", f"max_load_{marco.id}": "3"}
    refused = await claire.submit("/manage/epp-2027/jury/loads", typed)
    assert refused.status_code == 400 and field_error(refused, f"min_load_{marco.id}")
    assert f'id="min_load_{marco.id}" name="min_load_{marco.id}"' in refused.text
    assert re.search(rf'name="max_load_{marco.id}"[^>]*value="3"', refused.text)
    typed[f"min_load_{marco.id}"] = "1"
    assert location(await claire.submit("/manage/epp-2027/jury/loads", typed)) == (
        "/manage/epp-2027/jury"
    )
    saved = await PanelMember.get(id=marco.id)
    assert (saved.min_load, saved.max_load) == (1, 3)

    await Application.filter(reference=A).update(status=ApplicationStatus.SHORTLISTED)
    award = {"action": "award", "reference": A, "title": "First prize", "position": "0"}
    refused = await claire.submit("/manage/epp-2027/ranking", {**award, "amount_eur": "-3"})
    assert refused.status_code == 400
    assert field_error(refused, "position") and field_error(refused, "amount_eur")
    assert 'name="amount_eur" type="number" value="-3"' in refused.text
