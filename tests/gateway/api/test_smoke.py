import httpx


def test_put_then_read_round_trip(client: httpx.Client) -> None:
    body = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1980-05-01"}
    created = client.put("/fhir/Patient/p1", json=body)
    assert created.status_code == 201, created.text
    read = client.get("/fhir/Patient/p1")
    assert read.status_code == 200
    assert read.json()["meta"]["versionId"] == "1"
    assert read.headers["etag"] == 'W/"1"'
