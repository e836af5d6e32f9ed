"""The ``practitioners`` CSV export's site coordinates, through a real ingest job: decimal comma or dot, the place
where a professional consults gets its ``position``; a bad coordinate rejects the row with its file, line and field."""

from __future__ import annotations

from typing import Any

import httpx

from tests.gateway.ingest.conftest import Ingest

CENTRE = "350000014"
HEADER = "id_nat_ps;nom;prenom;profession;specialite;site;nom_site;adresse;code_postal;ville;latitude;longitude\r\n"
SITE = "SITE1;Maison de santé du Blosne;5 place de Zagreb;35200;Rennes"
ROWS = [
    f"819990001018;MARTIN;Claire;10;SM54;{SITE};48,0892;-1,6630",  # line 2: decimal comma
    f"819990001026;DURAND;Paul;60;;{SITE};48.0892;-1.663",  # line 3: decimal dot
    f"819990001034;HADDAD;Karim;10;SM54;{SITE};48,08x;-1,6630",  # line 4: not a number
    f"819990001042;LEFEBVRE;Anne;10;SM54;{SITE};48,0892;-181",  # line 5: beyond 180 degrees
]


def roles(client: httpx.Client) -> dict[str, dict[str, Any]]:
    response = client.get("/fhir/PractitionerRole", params={"_count": "50"})
    assert response.status_code == 200, response.text
    found = {}
    for entry in response.json().get("entry", []):
        role = entry["resource"]
        found[role["identifier"][0]["value"]] = role
    return found


def test_site_coordinates_become_the_contained_location_position(ingest: Ingest, client: httpx.Client) -> None:
    payload = (HEADER + "\r\n".join(ROWS) + "\r\n").encode("utf-8")
    report = ingest(payload, tenant=CENTRE, fmt="csv", export="practitioners", vendor="reference", source="pro.csv")
    assert report["status"] == "done", report
    assert report["counts"] == {"accepted": 2, "duplicate": 0, "rejected": 2}, report
    issues = {record["location"]: record["issues"] for record in report["records"] if record.get("issues")}
    assert {
        where: [(i["details"]["coding"][0]["code"], i["expression"]) for i in found] for where, found in issues.items()
    } == {
        "pro.csv:4": [("MAP-VALUE", ["pro.csv:4:latitude"])],
        "pro.csv:5": [("MAP-VALUE", ["pro.csv:5:longitude"])],
    }
    assert "'48,08x' is not a number" in issues["pro.csv:4"][0]["diagnostics"]
    assert "longitude -181 is outside -180..180 degrees" in issues["pro.csv:5"][0]["diagnostics"]
    found = roles(client)
    assert set(found) == {"819990001018", "819990001026"}
    for role in found.values():
        place = role["contained"][0]
        assert place["id"] == "location" and role["location"] == [{"reference": "#location"}]
        assert place["position"] == {"longitude": -1.663, "latitude": 48.0892}
