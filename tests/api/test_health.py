async def test_health_and_ready(client):
    assert (await client.get("/health")).json()["status"] == "ok"
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


async def test_missing_and_invalid_key_are_401(client):
    # any authenticated route works; /api/workflows is registered by the workflows domain
    r = await client.get("/api/workflows")
    assert r.status_code in (401, 404)
