"""The upload pages (/upload, /upload/confirm) and data versions pages, through the Flask test client.

One app on this module's own copy of the built database. Each test uploads files whose cells no
other test uses (training figures for its own years), so the counts it expects do not depend on
the order the tests run in. "Writes nothing" is checked on a dump of every table except the
pending uploads, the audit log and the sign-in sessions (each request updates its session's
last-seen time).
"""
from __future__ import annotations

import pytest

from dashboard.imports import import_return
from tests.helpers import ROLE_PASSWORD, sign_in
from tests.imports.conftest import (
    CORPUS,
    audit_actions,
    corpus_case,
    counts,
    csv_bytes,
    csv_records,
    dump,
    dump_diff,
    last_audit_id,
    layer,
    max_version,
    pending_token,
    sign_in_named,
    table_body,
    text_by_id,
    training_return,
    upload,
    version_rows,
)

QUIET = ("pending_upload", "audit_event", "auth_session")
OTHER_ANALYST = "imports-second-analyst"


@pytest.fixture(scope="module")
def site(databases):
    from dashboard.web.app import create_app

    db = databases.sqlite("upload-pages")
    return db, create_app(db.settings)


class Clients:
    def __init__(self, db, app):
        self.db, self.app, self._made = db, app, {}

    def __getitem__(self, role: str):
        if role not in self._made:
            c = self.app.server.test_client()
            if role == "analyst2":
                from dashboard.auth import service as auth

                try:
                    auth.create_user(self.db.engine, OTHER_ANALYST, "analyst", ROLE_PASSWORD)
                except auth.AuthError:
                    pass
                sign_in_named(c, OTHER_ANALYST)
            else:
                sign_in(c, self.db.engine, role)
            self._made[role] = c
        return self._made[role]


@pytest.fixture(scope="module")
def clients(site) -> Clients:
    db, app = site
    return Clients(db, app)


@pytest.fixture(scope="module")
def eng(site):
    return site[0].engine


def pending_count(eng) -> int:
    return counts(eng)["pending_upload"]


# --------------------------------------------------------------------------- check, then confirm


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_analysts_and_admins_get_the_upload_form(clients, role):
    resp = clients[role].get("/upload")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'type="file"' in html and 'name="csrf_token"' in html and 'action="/upload"' in html


@pytest.mark.parametrize("role, year", [("analyst", 2001), ("admin", 2002)])
def test_the_first_post_shows_the_summary_and_writes_nothing(clients, eng, role, year):
    data, expected = training_return(range(year, year + 1))
    n = len(expected)
    before, pending = dump(eng, exclude=QUIET), pending_count(eng)
    since = last_audit_id(eng)
    resp = upload(clients[role], data, f"training_{year}.csv")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert table_body(html, "change-summary") == [["training_compliance", str(n), "0", "0"]]
    assert text_by_id(html, "summary-line") == f"{n} added, 0 changed, 0 unchanged"
    assert pending_token(html)
    assert dump_diff(before, dump(eng, exclude=QUIET)) == ""
    assert pending_count(eng) == pending + 1
    assert "import.accepted" not in [a for a, *_ in audit_actions(eng, since)]


def test_the_summary_counts_changes_against_the_current_layer(clients, eng):
    client = clients["analyst"]
    data, expected = training_return(range(2003, 2004))
    resp = client.post("/upload/confirm", data={"pending": pending_token(upload(client, data, "t2003.csv")
                                                                         .get_data(as_text=True))})
    assert resp.status_code == 200
    recs = csv_records(data)
    recs[0]["value"] = "12.34" if recs[0]["value"] != "12.34" else "23.45"
    recs.append(dict(recs[-1], period="Jan 2004"))
    resp = upload(client, csv_bytes(list(recs[0].keys()), recs), "t2003_revised.csv")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert table_body(html, "change-summary") == [["training_compliance", "1", "1", str(len(expected) - 1)]]
    assert text_by_id(html, "summary-line") == f"1 added, 1 changed, {len(expected) - 1} unchanged"


def test_confirm_creates_the_version_and_audits_it(clients, eng):
    client = clients["analyst"]
    data, expected = training_return(range(2005, 2006))
    token = pending_token(upload(client, data, "training_2005.csv").get_data(as_text=True))
    since, pending, last = last_audit_id(eng), pending_count(eng), max_version(eng)
    resp = client.post("/upload/confirm", data={"pending": token})
    assert resp.status_code == 200
    v = version_rows(eng)[-1]
    assert v.id > last
    assert text_by_id(resp.get_data(as_text=True), "new-version") == str(v.id)
    assert (v.kind, v.filename, v.created_by, v.rows_in_file) == ("import", "training_2005.csv", "test-analyst",
                                                                  len(expected))
    assert ("import.accepted", "test-analyst", "ok", f"data version {v.id}") in audit_actions(eng, since)
    assert pending_count(eng) == pending - 1  # the pending upload is used up
    again = client.post("/upload/confirm", data={"pending": token})
    assert again.status_code == 400
    assert max_version(eng) == v.id


def test_the_check_page_lists_every_target_the_file_adds_changes_or_removes(clients, eng):
    header = ["metric_id", "target", "from", "to", "agency", "source", "tolerance", "tolerance_kind", "illustrative"]
    data = csv_bytes(header, [
        ["supervision_compliance", "90", "", "", "NELFT", "Test: a higher aim", "", "", "no"],
        ["supervision_compliance", "75", "", "", "Essex Police", "Test: police aim", "", "", "no"],
    ])
    client = clients["analyst"]
    before = dump(eng, exclude=QUIET)
    resp = upload(client, data, "targets_check.csv")
    assert resp.status_code == 200
    rows = table_body(resp.get_data(as_text=True), "target-changes")
    assert [r[0] for r in rows] == ["Added", "Changed"]
    assert "Essex Police" in rows[0][1] and "75" in rows[0][1]
    assert "NELFT" in rows[1][1] and "85" in rows[1][1] and "becomes 90" in rows[1][1]
    assert dump_diff(before, dump(eng, exclude=QUIET)) == ""


def test_the_versions_page_offers_to_restore_the_build(clients, eng):
    build_id = next(v.id for v in version_rows(eng) if v.kind == "build")
    html = clients["admin"].get("/admin/versions").get_data(as_text=True)
    assert f"/admin/versions/{build_id}/restore" in html and "published data alone" in html


@pytest.mark.parametrize("name", ["02_unreadable_period.csv", "07_percent_above_100.xlsx"])
def test_a_refused_file_shows_every_problem_and_writes_nothing(clients, eng, name):
    case = corpus_case(name)
    before, pending = dump(eng, exclude=QUIET), pending_count(eng)
    since = last_audit_id(eng)
    resp = upload(clients["analyst"], (CORPUS / name).read_bytes(), name)
    assert resp.status_code == 422
    rows = table_body(resp.get_data(as_text=True), "problems")
    want = [("Error" if p["severity"] == "error" else "Warning", p["sheet"] or "",
             "" if p["row"] is None else str(p["row"]), p["column"] or "", str(p["value"])) for p in case["problems"]]
    assert [tuple(r[:5]) for r in rows] == want
    for row, p in zip(rows, case["problems"]):
        for word in p.get("words", []):
            assert word.lower() in row[5].lower(), (word, row)
    assert dump_diff(before, dump(eng, exclude=QUIET)) == ""
    assert pending_count(eng) == pending
    assert [a for a, *_ in audit_actions(eng, since)] == ["import.refused"]


# --------------------------------------------------------------------------- who may


@pytest.mark.parametrize("role", ["viewer", "inspector"])
def test_viewers_and_inspectors_get_403_on_every_upload_and_version_route(clients, eng, registry, role):
    data, _ = training_return(range(2012, 2013), note=role)
    token = pending_token(upload(clients["analyst"], data, "t2012.csv").get_data(as_text=True))
    restorable = import_return(eng, registry, training_return(range(2014, 2015), note=role)[0], "t2014.csv",
                               user="analyst-a").version_id
    c = clients[role]
    before, pending = dump(eng, exclude=QUIET), pending_count(eng)
    assert c.get("/upload").status_code == 403
    assert upload(c, data, "t2012.csv").status_code == 403
    assert c.post("/upload/confirm", data={"pending": token}).status_code == 403
    assert c.get("/admin/versions").status_code == 403
    assert c.post(f"/admin/versions/{restorable}/restore").status_code == 403
    assert c.get(f"/versions/{restorable}/file").status_code == 403
    assert dump_diff(before, dump(eng, exclude=QUIET)) == ""
    assert pending_count(eng) == pending


def test_analysts_may_not_see_or_restore_versions(clients, eng, registry):
    data, _ = training_return(range(2013, 2014))
    v = import_return(eng, registry, data, "t2013.csv", user="someone").version_id
    c = clients["analyst"]
    last = max_version(eng)
    assert c.get("/admin/versions").status_code == 403
    assert c.post(f"/admin/versions/{v}/restore").status_code == 403
    assert max_version(eng) == last


def test_another_analyst_cannot_confirm_someone_elses_upload(clients, eng):
    data, _ = training_return(range(2006, 2007))
    token = pending_token(upload(clients["analyst"], data, "training_2006.csv").get_data(as_text=True))
    last, pending = max_version(eng), pending_count(eng)
    resp = clients["analyst2"].post("/upload/confirm", data={"pending": token})
    assert resp.status_code == 400
    assert max_version(eng) == last and pending_count(eng) == pending
    resp = clients["analyst"].post("/upload/confirm", data={"pending": token})
    assert resp.status_code == 200
    v = version_rows(eng)[-1]
    assert v.id > last and v.created_by == "test-analyst" and v.filename == "training_2006.csv"


# --------------------------------------------------------------------------- restore and the original file


def test_admin_restore_needs_the_csrf_token_and_makes_a_restore_version(clients, eng, registry):
    first = import_return(eng, registry, training_return(range(2007, 2008))[0], "t2007.csv", user="analyst-a")
    import_return(eng, registry, training_return(range(2008, 2009))[0], "t2008.csv", user="analyst-a")
    admin = clients["admin"]
    header = admin.environ_base.pop("HTTP_X_CSRFTOKEN")
    last = max_version(eng)
    try:
        assert admin.post(f"/admin/versions/{first.version_id}/restore").status_code == 403
        assert admin.post(f"/admin/versions/{first.version_id}/restore",
                          data={"csrf_token": "not-the-token"}).status_code == 403
    finally:
        admin.environ_base["HTTP_X_CSRFTOKEN"] = header
    assert max_version(eng) == last

    since = last_audit_id(eng)
    resp = admin.post(f"/admin/versions/{first.version_id}/restore")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin/versions")
    v = version_rows(eng)[-1]
    assert v.id > last
    assert (v.kind, v.restored_from, v.created_by) == ("restore", first.version_id, "test-admin")
    assert layer(eng, v.id) == layer(eng, first.version_id)
    assert ("version.restore", "test-admin", "ok", f"new version {v.id}") in audit_actions(eng, since)
    page = admin.get("/admin/versions")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"Restore of data version {first.version_id}" in html and "t2008.csv" in html


def test_the_original_file_is_returned_to_analysts_and_admins(clients, eng, registry):
    data, _ = training_return(range(2009, 2010), note="kept byte for byte")
    data = data.replace(b"\n", b"\r\n")  # Windows line ends must survive too
    v = import_return(eng, registry, data, "t2009 (final).csv", user="analyst-a").version_id
    for role in ("analyst", "admin"):
        resp = clients[role].get(f"/versions/{v}/file")
        assert resp.status_code == 200, role
        assert resp.get_data() == data
        # the stored name, made safe for a header: letters, digits, dot, dash and underscore only
        assert resp.headers["Content-Disposition"] == 'attachment; filename="t2009__final_.csv"'
        assert resp.headers["Cache-Control"] == "no-store"
    assert clients["analyst"].get(f"/versions/{max_version(eng) + 50}/file").status_code == 404
