"""Helpers for HTTP tests: an app bound to a test world, and logged-in clients."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.testclient import TestClient

from exoneb.accounts.permissions import Role
from exoneb.web.app import create_app

from .conftest import PASSWORD, World


@dataclass
class Staff:
    """A logged-in client and its CSRF token."""

    client: TestClient
    csrf: str

    def headers(self) -> dict[str, str]:
        """Headers a page's htmx request would send."""
        return {"X-CSRF-Token": self.csrf}

    def post(self, url: str, json: object) -> object:
        """POST JSON with the CSRF header."""
        return self.client.post(url, json=json, headers=self.headers())


def app_for(world: World) -> FastAPI:
    """The web app on the world's database and clock."""
    return create_app(world.settings, clock=world.clock)


def login(app: FastAPI, world: World, role: Role, base_url: str = "http://testserver") -> Staff:
    """Log in through the API as the user with ``role``."""
    client = TestClient(app, base_url=base_url)
    response = client.post(
        "/api/v1/auth/login",
        json={"username": world.users[role].username, "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    return Staff(client=client, csrf=response.json()["csrf_token"])
