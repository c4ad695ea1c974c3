"""``GET/PATCH /api/admin/extensions/{number}/features`` through the real app on a
started switch: what a PATCH changes is what the switch routes by."""

from __future__ import annotations

import pytest

from tests.api.test_admin_extensions import AdminEnv, admin_env, assert_error  # noqa: F401

PATH = "/api/admin/extensions/101/features"


async def test_get_shows_everything_off_at_first(admin_env: AdminEnv) -> None:  # noqa: F811
    response = await admin_env.client.get(PATH, headers=admin_env.auth())
    assert response.status_code == 200
    assert response.json() == {
        "number": "101",
        "forward_always": None,
        "forward_busy": None,
        "forward_no_answer": None,
        "no_answer_timeout": 20,
        "dnd": False,
        "pickup_group": None,
    }


async def test_patch_changes_only_what_it_names(admin_env: AdminEnv) -> None:  # noqa: F811
    client, auth = admin_env.client, admin_env.auth()
    response = await client.patch(
        PATH, headers=auth, json={"forward_busy": "102", "no_answer_timeout": 7, "dnd": True}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["forward_busy"] == "102" and body["no_answer_timeout"] == 7 and body["dnd"]
    response = await client.patch(PATH, headers=auth, json={"forward_always": "+15550100"})
    assert response.json()["forward_busy"] == "102"  # kept
    features = admin_env.switch.call_features.get("101")
    assert features.forward_always == "+15550100" and features.dnd
    response = await client.patch(PATH, headers=auth, json={"forward_busy": None, "dnd": False})
    assert response.json()["forward_busy"] is None
    assert (await client.get(PATH, headers=auth)).json() == response.json()
    assert admin_env.switch.call_features.get("102").forward_busy == ""  # others untouched


@pytest.mark.parametrize(
    "body, words",
    [
        ({"forward_busy": "10x"}, "forward_busy must be digits"),
        ({"forward_always": "101"}, "may not be the extension itself"),
        ({"forward_busy": 102}, "forward_busy must be a number as a string"),
        ({"no_answer_timeout": 0}, "no_answer_timeout must be an integer from 1 to 300"),
        ({"no_answer_timeout": True}, "no_answer_timeout"),
        ({"no_answer_timeout": "20"}, "no_answer_timeout"),
        ({"dnd": "yes"}, "dnd must be true or false"),
        ({"pickup_group": "sales"}, "unknown field(s): pickup_group"),
        (["dnd"], "JSON object"),
    ],
)
async def test_a_wrong_patch_is_400_and_changes_nothing(
    admin_env: AdminEnv,  # noqa: F811
    body: object,
    words: str,
) -> None:
    response = await admin_env.client.patch(PATH, headers=admin_env.auth(), json=body)
    assert words in assert_error(response, 400)
    assert admin_env.switch.call_features.get("101") == admin_env.switch.call_features.get("9")


async def test_not_json_unknown_extension_and_no_token(admin_env: AdminEnv) -> None:  # noqa: F811
    client, auth = admin_env.client, admin_env.auth()
    response = await client.patch(PATH, headers=auth, content=b"{dnd")
    assert "not JSON" in assert_error(response, 400)
    response = await client.patch(PATH, headers=auth, content=b"\xff\xfe")
    assert_error(response, 400)
    for method in ("GET", "PATCH"):
        response = await client.request(
            method, "/api/admin/extensions/999/features", headers=auth, json={}
        )
        assert "no extension 999" in assert_error(response, 404)
        response = await client.request(method, PATH, json={"dnd": True})
        assert_error(response, 401)
    assert not admin_env.switch.call_features.get("101").dnd
    response = await client.patch(PATH, headers=auth, content=b"x" * 5000)
    assert_error(response, 413)


async def test_delete_is_405(admin_env: AdminEnv) -> None:  # noqa: F811
    response = await admin_env.client.delete(PATH, headers=admin_env.auth())
    assert response.status_code == 405
