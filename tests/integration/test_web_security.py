"""HTTP security: cookies, CSRF and Origin checks, timeouts, logout, lockout, headers, errors."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from exoneb.accounts.permissions import Role
from exoneb.core.audit import AuditEvent
from exoneb.web.app import routers

from .conftest import PASSWORD, World
from .webclient import app_for, login

NEW_PATIENT = {
    "mrn": "W-1", "family_name": "Web", "given_name": "Wanda", "birth_date": "1970-05-06",
    "sex": "female",
}  # fmt: skip


def _count(world: World, action: str) -> int:
    with world.factory() as db:
        return db.scalar(select(func.count()).where(AuditEvent.action == action)) or 0


def test_session_cookie_flags_over_http(world: World) -> None:
    app = app_for(world)
    client = TestClient(app)
    response = client.post("/api/v1/auth/login", json={"username": "nurse1", "password": PASSWORD})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("exoneb_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie
    assert "Max-Age" not in cookie  # ends with the browser; the server enforces timeouts
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(token) >= 43  # 256 random bits, URL-safe base64
    with world.factory() as db:
        from exoneb.accounts.models import LoginSession

        stored = db.scalars(select(LoginSession)).one()
    assert stored.token_sha256 != token  # only the hash is stored


def test_session_cookie_is_secure_and_host_prefixed_over_https(world: World) -> None:
    client = TestClient(app_for(world), base_url="https://testserver")
    response = client.post("/api/v1/auth/login", json={"username": "nurse1", "password": PASSWORD})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-exoneb_session=")
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "Strict-Transport-Security" in response.headers


def test_csrf_token_required_for_changes(world: World) -> None:
    nurse = login(app_for(world), world, Role.NURSE)
    missing = nurse.client.post("/api/v1/patients", json=NEW_PATIENT)
    assert missing.status_code == 403
    wrong = nurse.client.post(
        "/api/v1/patients", json=NEW_PATIENT, headers={"X-CSRF-Token": "x" * 43}
    )
    assert wrong.status_code == 403
    assert "Reload the page" in wrong.json()["detail"]
    ok = nurse.post("/api/v1/patients", NEW_PATIENT)
    assert ok.status_code == 201  # type: ignore[attr-defined]


def test_foreign_origin_refused_even_with_token(world: World) -> None:
    nurse = login(app_for(world), world, Role.NURSE)
    evil = nurse.client.post(
        "/api/v1/patients",
        json=NEW_PATIENT,
        headers={**nurse.headers(), "Origin": "https://evil.example"},
    )
    assert evil.status_code == 403
    cross = nurse.client.post(
        "/api/v1/patients",
        json=NEW_PATIENT,
        headers={**nurse.headers(), "Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403
    same = nurse.client.post(
        "/api/v1/patients",
        json=NEW_PATIENT,
        headers={**nurse.headers(), "Origin": "http://testserver"},
    )
    assert same.status_code == 201


def test_every_state_changing_route_demands_the_csrf_token(world: World) -> None:
    app = app_for(world)
    nurse = login(app, world, Role.NURSE)
    checked = 0
    routes = [(prefix + r.path, r.methods) for prefix, router in routers() for r in router.routes
              if isinstance(r, APIRoute)]  # fmt: skip
    for path, all_methods in routes:
        methods = all_methods - {"GET", "HEAD", "OPTIONS"}
        if not methods or path in {"/login", "/api/v1/auth/login"}:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method in methods:
            response = nurse.client.request(method, url, data={"reason": "x"})
            assert response.status_code == 403, f"{method} {path} accepted a request without CSRF"
            checked += 1
    assert checked >= 20


def test_login_form_needs_its_token(world: World) -> None:
    client = TestClient(app_for(world))
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token is not None
    forged = TestClient(app_for(world)).post(
        "/login",
        data={"username": "nurse1", "password": PASSWORD, "login_token": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    ok = client.post(
        "/login",
        data={"username": "nurse1", "password": PASSWORD, "login_token": token.group(1)},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert ok.headers["location"] == "/patients"


def test_logout_ends_the_session_on_the_server(world: World) -> None:
    nurse = login(app_for(world), world, Role.NURSE)
    cookie = dict(nurse.client.cookies)
    assert nurse.client.post("/api/v1/auth/logout", headers=nurse.headers()).status_code == 204
    replay = TestClient(app_for(world), cookies=cookie)
    assert replay.get("/api/v1/auth/me").status_code == 401
    assert replay.get("/patients", follow_redirects=False).headers["location"] == "/login"
    assert _count(world, "auth.logout") == 1


def test_idle_timeout_is_not_extended_by_background_polling(world: World) -> None:
    nurse = login(app_for(world), world, Role.NURSE)
    world.clock.advance(timedelta(minutes=14))
    assert nurse.client.get("/api/v1/auth/me").status_code == 200  # real activity
    world.clock.advance(timedelta(minutes=10))
    poll = {"X-Background-Poll": "1"}
    assert nurse.client.get("/api/v1/auth/me", headers=poll).status_code == 200
    world.clock.advance(timedelta(minutes=5, seconds=1))  # 15 min since the real request
    assert nurse.client.get("/api/v1/auth/me", headers=poll).status_code == 401
    assert nurse.client.get("/api/v1/auth/me").status_code == 401
    assert _count(world, "auth.session_expired") == 1


def test_activity_is_written_at_most_every_30_s(world: World) -> None:
    """A request within 30 s of the last recorded activity does not rewrite it."""
    nurse = login(app_for(world), world, Role.NURSE)

    def last_active() -> object:
        with world.factory() as db:
            return db.execute(text("SELECT last_active_at FROM login_session")).scalar_one()

    first = last_active()
    world.clock.advance(timedelta(seconds=29))
    assert nurse.client.get("/api/v1/auth/me").status_code == 200
    assert last_active() == first
    world.clock.advance(timedelta(seconds=2))
    assert nurse.client.get("/api/v1/auth/me").status_code == 200
    assert last_active() != first


def test_absolute_lifetime_ends_an_active_session(world: World) -> None:
    nurse = login(app_for(world), world, Role.NURSE)
    for _ in range(71):  # 71 × 10 min = 11 h 50 min of steady work
        world.clock.advance(timedelta(minutes=10))
        assert nurse.client.get("/api/v1/auth/me").status_code == 200
    world.clock.advance(timedelta(minutes=10))
    assert nurse.client.get("/api/v1/auth/me").status_code == 401


def test_repeated_failures_lock_the_account_temporarily(world: World) -> None:
    client = TestClient(app_for(world))
    for _ in range(world.settings.login_max_failures):
        bad = client.post("/api/v1/auth/login", json={"username": "nurse1", "password": "nope"})
        assert bad.status_code == 401
        assert bad.json()["detail"] == "Wrong username or password."
    locked = client.post("/api/v1/auth/login", json={"username": "nurse1", "password": PASSWORD})
    assert locked.status_code == 429
    assert _count(world, "auth.login_failed") == world.settings.login_max_failures
    assert _count(world, "auth.login_blocked") == 1
    world.clock.advance(timedelta(minutes=world.settings.login_window_minutes, seconds=1))
    again = client.post("/api/v1/auth/login", json={"username": "nurse1", "password": PASSWORD})
    assert again.status_code == 200


def test_unknown_user_is_indistinguishable(world: World) -> None:
    client = TestClient(app_for(world))
    response = client.post("/api/v1/auth/login", json={"username": "ghost", "password": "x"})
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong username or password."


def test_deactivating_a_user_ends_their_sessions(world: World) -> None:
    app = app_for(world)
    nurse = login(app, world, Role.NURSE)
    admin = login(app, world, Role.ADMINISTRATOR)
    response = admin.post(
        f"/api/v1/users/{world.users[Role.NURSE].id}/deactivate", {"reason": "left the clinic"}
    )
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert nurse.client.get("/api/v1/auth/me").status_code == 401
    relogin = TestClient(app).post(
        "/api/v1/auth/login", json={"username": "nurse1", "password": PASSWORD}
    )
    assert relogin.status_code == 401


def test_new_login_replaces_the_previous_session(world: World) -> None:
    app = app_for(world)
    nurse = login(app, world, Role.NURSE)
    old = dict(nurse.client.cookies)
    nurse.client.post("/api/v1/auth/login", json={"username": "nurse1", "password": PASSWORD})
    assert dict(nurse.client.cookies) != old
    assert TestClient(app, cookies=old).get("/api/v1/auth/me").status_code == 401


def test_security_headers_on_pages_and_api(world: World) -> None:
    client = TestClient(app_for(world))
    for url in ("/login", "/healthz", "/openapi.json"):
        headers = client.get(url).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["cache-control"] == "no-store"


def test_pages_use_no_inline_script_and_no_cdn(world: World) -> None:
    nurse = login(app_for(world), world, Role.NURSE)
    html = nurse.client.get("/patients").text
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.S)
    assert scripts == ["", "", "", ""]  # external scripts only, no inline code
    assert re.findall(r'<script src="([^"]+)"', html) == [
        "/static/htmx-2.0.11.min.js",
        "/static/idle-warning.js",
        "/static/inhalation-timer.js",
        "/static/monitoring-live.js",
    ]
    assert not re.search(r"\son[a-z]+\s*=", html)  # no inline event handlers
    assert "style=" not in html
    htmx = nurse.client.get("/static/htmx-2.0.11.min.js")
    assert htmx.status_code == 200
    assert "htmx" in htmx.text[:200]
    assert "not medical advice" in html


def test_unexpected_error_gives_a_generic_500(world: World) -> None:
    app = app_for(world)

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    @app.get("/boom")
    def boom_page() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    client = TestClient(app, raise_server_exceptions=False)
    api = client.get("/api/v1/boom")
    assert api.status_code == 500
    assert "secret" not in api.text
    assert "Nothing was saved" in api.json()["detail"]
    page = client.get("/boom")
    assert page.status_code == 500
    assert "secret" not in page.text
    assert "Traceback" not in page.text
    assert page.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("url", ["/patients", "/audit", "/sessions/1", "/patients/1"])
def test_pages_redirect_to_login_when_logged_out(world: World, url: str) -> None:
    response = TestClient(app_for(world)).get(url, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_password_change_ends_the_other_sessions(world: World) -> None:
    app = app_for(world)
    phone = login(app, world, Role.NURSE)
    tablet = login(app, world, Role.NURSE)
    url = "/api/v1/auth/password"
    wrong = tablet.client.post(
        url, json={"current_password": "nope", "new_password": "x" * 12}, headers=tablet.headers()
    )
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["loc"] == ["body", "current_password"]
    weak = tablet.client.post(
        url, json={"current_password": PASSWORD, "new_password": "short"}, headers=tablet.headers()
    )
    assert weak.status_code == 422
    assert weak.json()["detail"][0]["loc"] == ["body", "new_password"]
    new = "an entirely new passphrase"
    done = tablet.client.post(
        url, json={"current_password": PASSWORD, "new_password": new}, headers=tablet.headers()
    )
    assert done.status_code == 204
    assert tablet.client.get("/api/v1/auth/me").status_code == 200
    assert phone.client.get("/api/v1/auth/me").status_code == 401
    fresh = TestClient(app)
    old = fresh.post("/api/v1/auth/login", json={"username": "nurse1", "password": PASSWORD})
    assert old.status_code == 401
    ok = fresh.post("/api/v1/auth/login", json={"username": "nurse1", "password": new})
    assert ok.status_code == 200
    assert _count(world, "user.password_change") == 1


def test_password_page(world: World) -> None:
    nurse = login(app_for(world), world, Role.NURSE)
    assert "Change your password" in nurse.client.get("/account/password").text
    bad = nurse.client.post(
        "/account/password",
        data={"csrf_token": nurse.csrf, "current_password": PASSWORD, "new_password": "short"},
    )
    assert bad.status_code == 422
    assert 'id="e-new_password">Use at least 10 characters.' in bad.text
    good = nurse.client.post(
        "/account/password",
        data={
            "csrf_token": nurse.csrf,
            "current_password": PASSWORD,
            "new_password": "an entirely new passphrase",
        },
    )
    assert good.status_code == 200
    assert "Your password was changed" in good.text
