from fastapi.testclient import TestClient


def test_regions_are_seeded_with_diacritics(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/api/v1/regions", headers=admin)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 12
    assert {"code": "AL-02", "name": "Durrës"} in body["items"]
