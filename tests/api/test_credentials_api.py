"""Credentials API (SQLite and PostgreSQL): create/list/get/rotate/delete, the value never in any
response, encryption at rest (the row holds ciphertext only, the key file is made with mode 600),
duplicate names 409, bad input 400 naming the field, and workspace isolation (404)."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from pilot.credentials.crypto import KEY_FILE, cipher_for
from pilot.db.models import CredentialRow

URL = "/api/credentials"


def _value(prefix: str = "tok") -> str:
    return f"{prefix}-{secrets.token_urlsafe(24)}"


async def _create(api, name: str = "slack_hook", type: str = "slack_webhook", value: str | None = None, **extra) -> tuple[dict, str]:
    value = value or _value()
    r = await api.post(URL, json={"name": name, "type": type, "value": value, **extra})
    assert r.status_code == 201, r.text
    assert value not in r.text
    return r.json(), value


async def _row(client, credential_id: str) -> CredentialRow:
    async with client.app.state.runtime.sessions() as session:
        return await session.scalar(sa.select(CredentialRow).where(CredentialRow.id == credential_id))


async def test_create_list_get_rotate_delete_never_show_the_value(api, client) -> None:
    seen: list[str] = []  # every response body of this test
    created, value = await _create(api, description="team channel")
    seen.append(str(created))
    assert created["id"].startswith("cred_") and set(created) == {"id", "name", "type", "description", "created_at", "updated_at"}
    assert (created["name"], created["type"], created["description"]) == ("slack_hook", "slack_webhook", "team channel")
    other, other_value = await _create(api, name="OPENAI_KEY", type="openai_key")

    listed = await api.get(URL)
    seen.append(listed.text)
    body = listed.json()
    assert body["total"] == 2 and (body["limit"], body["offset"]) == (50, 0)
    assert [c["name"] for c in body["items"]] == ["OPENAI_KEY", "slack_hook"]  # by name
    assert all("value" not in c and "ciphertext" not in c for c in body["items"])
    only = (await api.get(URL, params={"type": "openai_key"})).json()
    assert [c["id"] for c in only["items"]] == [other["id"]] and only["total"] == 1
    assert (await api.get(URL, params={"limit": 1, "offset": 1})).json()["items"][0]["name"] == "slack_hook"

    one = await api.get(f"{URL}/{created['id']}")
    seen.append(one.text)
    assert one.status_code == 200 and one.json() == created
    by_name = await api.get(f"{URL}/slack_hook")
    assert by_name.json()["id"] == created["id"]

    rotated_value = _value("rotated")
    rotated = await api.put(f"{URL}/{created['id']}", json={"value": rotated_value})
    seen.append(rotated.text)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["updated_at"] >= created["updated_at"] and rotated.json()["created_at"] == created["created_at"]
    described = await api.put(f"{URL}/slack_hook", json={"description": "ops channel"})
    seen.append(described.text)
    assert described.json()["description"] == "ops channel" and described.json()["name"] == "slack_hook"

    for text in seen:
        for secret in (value, other_value, rotated_value):
            assert secret not in text

    assert (await api.delete(f"{URL}/{created['id']}")).status_code == 204
    assert (await api.get(f"{URL}/{created['id']}")).status_code == 404
    assert (await api.delete(f"{URL}/{created['id']}")).status_code == 404
    assert [c["name"] for c in (await api.get(URL)).json()["items"]] == ["OPENAI_KEY"]


async def test_the_row_holds_only_ciphertext_bound_to_the_row(api, client, settings) -> None:
    created, value = await _create(api, name="bearer", type="bearer_token")
    row = await _row(client, created["id"])
    assert row.ciphertext != value and value not in row.ciphertext
    cipher = cipher_for(settings.app)
    assert cipher.decrypt(row.workspace_id, row.id, row.ciphertext) == value
    rotated = _value()
    await api.put(f"{URL}/{created['id']}", json={"value": rotated})
    after = await _row(client, created["id"])
    assert after.ciphertext != row.ciphertext and cipher.decrypt(after.workspace_id, after.id, after.ciphertext) == rotated
    # Without PILOT_SECRET_KEY the key lives in <data_dir>/secret.key, readable by its owner only.
    key_file = settings.app.data_dir / KEY_FILE
    assert settings.app.secret_key is None and key_file.exists()
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert value not in key_file.read_text()


async def test_duplicate_name_is_409_and_names_are_per_workspace(api, other_api) -> None:
    await _create(api, name="hook")
    value = _value()
    r = await api.post(URL, json={"name": "hook", "type": "secret", "value": value})
    assert r.status_code == 409 and "hook" in r.json()["detail"] and r.json()["extra"][0]["key"] == "name"
    assert value not in r.text
    assert (await api.get(URL)).json()["total"] == 1
    await _create(other_api, name="hook")  # another workspace may use the same name
    r = await api.post(URL, json={"name": "Hook", "type": "secret", "value": value})  # names are case-sensitive
    assert r.status_code == 201


async def test_bad_input_is_400_naming_the_field(api) -> None:
    value = _value()
    cases = [
        ({"name": "1st", "type": "secret", "value": value}, "name"),
        ({"name": "slack-hook", "type": "secret", "value": value}, "name"),
        ({"name": "x" * 65, "type": "secret", "value": value}, "name"),
        ({"name": "", "type": "secret", "value": value}, "name"),
        ({"name": "ok", "type": "password", "value": value}, "type"),
        ({"name": "ok", "type": "secret"}, "value"),
        ({"name": "ok", "type": "secret", "value": "abc"}, "value"),
        ({"name": "ok", "type": "secret", "value": "   abcd   "}, "value"),  # too short once stripped
        ({"name": "ok", "type": "secret", "value": 123456789}, "value"),
        ({"name": "ok", "type": "secret", "value": value, "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        r = await api.post(URL, json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["status_code"] == 400 and field in r.json()["detail"], (body, r.text)
        assert value not in r.text
    created, _ = await _create(api, name="ok")
    for body, field in [({}, "value"), ({"value": "short"}, "value"), ({"name": "renamed"}, "name"),
                        ({"type": "secret"}, "type"), ({"description": 5}, "description")]:
        r = await api.put(f"{URL}/{created['id']}", json=body)
        assert r.status_code == 400 and field in r.json()["detail"], (body, r.text)
    assert (await api.get(URL, params={"type": "nope"})).status_code == 400
    assert (await api.get(URL)).json()["items"] == [created]  # nothing changed


async def test_another_workspace_gets_404(api, other_api, client) -> None:
    created, value = await _create(api, name="prod_db")
    cid = created["id"]
    missing = {"status_code": 404, "detail": f"credential {cid!r} not found"}
    for response in (
        await other_api.get(f"{URL}/{cid}"),
        await other_api.put(f"{URL}/{cid}", json={"value": _value()}),
        await other_api.put(f"{URL}/{cid}", json={"description": "pwned"}),
        await other_api.delete(f"{URL}/{cid}"),
    ):
        assert response.status_code == 404 and response.json() == missing
    assert (await other_api.get(f"{URL}/prod_db")).status_code == 404  # by name too
    assert (await other_api.get(URL)).json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    # The owner's credential is exactly as it was, value included.
    assert (await api.get(f"{URL}/{cid}")).json() == created
    row = await _row(client, cid)
    assert cipher_for(client.app.state.runtime.settings.app).decrypt(row.workspace_id, cid, row.ciphertext) == value


async def test_requests_without_a_key_are_401(client) -> None:
    assert (await client.get(URL)).status_code == 401
    assert (await client.post(URL, json={"name": "x_1", "type": "secret", "value": _value()})).status_code == 401
