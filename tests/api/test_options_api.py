from .conftest import ROOT, set_option


async def test_get_hides_secrets_and_put_validates(client, runtime):
    await set_option(client, "GitHubClientSecret", "s3cret")
    await set_option(client, "SMTPToken", "tok")
    options = {o["key"]: o["value"] for o in (await client.get("/api/option/", headers=ROOT)).json()["data"]}
    assert options["SystemName"] == "One API" and options["QuotaPerUnit"] == "500000"
    assert options["PasswordLoginEnabled"] == "true"
    assert not {"GitHubClientSecret", "SMTPToken", "TurnstileSecretKey", "WeChatServerToken"} & set(options)
    assert "s3cret" not in str(options)
    for key, value, expected in [
        ("GitHubOAuthEnabled", "true", "GitHub"),
        ("WeChatAuthEnabled", "true", "微信"),
        ("TurnstileCheckEnabled", "true", "Turnstile"),
        ("OidcEnabled", "true", "OIDC"),
        ("Theme", "purple", "Theme"),
        ("QuotaPerUnit", "lots", "应为数字"),
        ("RetryTimes", "1.5", "应为整数"),
        ("ModelRatio", "{bad", "JSON 无效"),
        ("GroupRatio", '{"vip": "x"}', "名称到数字"),
        ("PasswordLoginEnabled", "maybe", "true 或 false"),
    ]:
        r = await client.put("/api/option/", json={"key": key, "value": value}, headers=ROOT)
        assert r.status_code == 200 and not r.json()["success"] and expected in r.json()["message"], (key, r.json())
    await set_option(client, "EmailDomainWhitelist", "")
    r = await client.put("/api/option/", json={"key": "EmailDomainRestrictionEnabled", "value": "true"}, headers=ROOT)
    assert not r.json()["success"]
    # Booleans and numbers may be sent as JSON values; the runtime options reload at once.
    await set_option(client, "SystemName", "My Gateway")
    await set_option(client, "RetryTimes", 3)
    await set_option(client, "LogConsumeEnabled", False)
    assert runtime.options.SystemName == "My Gateway" and runtime.options.RetryTimes == 3
    assert runtime.options.LogConsumeEnabled is False
    assert (await client.get("/api/status")).json()["data"]["system_name"] == "My Gateway"
    # Unknown keys are stored too.
    await set_option(client, "SomethingNew", "x")
    options = {o["key"]: o["value"] for o in (await client.get("/api/option/", headers=ROOT)).json()["data"]}
    assert options["SomethingNew"] == "x"
    r = await client.put("/api/option/", json={"key": "verification:email:x", "value": "x"}, headers=ROOT)
    assert not r.json()["success"]


async def test_options_change_is_announced(client, runtime):
    seen = []
    runtime.changes.subscribe("options", seen.append)
    await set_option(client, "Notice", "hello")
    assert seen == [None]
    assert (await client.get("/api/notice")).json() == {"success": True, "message": "", "data": "hello"}
