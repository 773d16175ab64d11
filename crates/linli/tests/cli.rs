//! The `linli` binary as scripts and black-box tests use it.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn linli() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_linli"));
    // Keep the caller's LINLI_* settings from leaking into the tested binary.
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("LINLI_")) {
        command.env_remove(key);
    }
    command
}

#[test]
fn import_refuses_bad_rows_then_accepts_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let regions = dir.path().join("regions.csv");
    std::fs::write(
        &regions,
        "code,level,name,parent_code,lon,lat\nbj,city,北京市,,,\ncp,district,昌平区,bj,116.23,40.22\nhlg,street,回龙观街道,cp,116.33,40.07\n",
    )
    .unwrap();
    let bad = dir.path().join("dwellings.csv");
    std::fs::write(&bad, "code,name,parent_code\nd1,101室,hlg\nd2,102室,nowhere\nd3,,hlg\n").unwrap();

    let out = linli().args(["import", "regions"]).arg(&regions).arg("--data-dir").arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 3 regions"));

    let out = linli().args(["import", "dwellings"]).arg(&bad).arg("--data-dir").arg(&data).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("row 3: parent_code") && stderr.contains("row 4: name"), "{stderr}");

    let geojson = dir.path().join("devices.geojson");
    std::fs::write(&geojson, r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[116.33,40.07]},"properties":{"code":"cam-1","name":"摄像头","kind":"camera","region_code":"hlg"}}]}"#).unwrap();
    let out = linli().args(["import", "devices"]).arg(&geojson).arg("--data-dir").arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = linli().args(["import", "planets"]).arg(&geojson).arg("--data-dir").arg(&data).output().unwrap();
    assert!(!out.status.success());
    let out = linli().args(["import", "regions"]).arg(dir.path().join("missing.csv")).arg("--data-dir").arg(&data).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open"));

    let out = linli()
        .args(["user", "create", "--username", "ops", "--password", "ops-password", "--role", "street_dispatcher", "--region", "hlg", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = linli()
        .args(["user", "create", "--username", "ops2", "--password", "ops-password", "--role", "street_dispatcher", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success(), "non-admin users must be bound");
    let out = linli().args(["user", "token", "--username", "ops", "--data-dir"]).arg(&data).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("lk_"));
}

#[test]
fn demo_serves_a_user_for_every_role() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = linli()
        .args(["demo", "--listen", "127.0.0.1:0", "--scale", "2000", "--demo-password", "secret-demo", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("demo exited before listening").unwrap();
        if let Some(rest) = line.strip_prefix("linli listening on http://") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        for role in linli_domain::Role::ALL {
            let response = client
                .post(format!("http://{address}/api/v1/auth/login"))
                .json(&serde_json::json!({"username": role.as_str(), "password": "secret-demo"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "login as {role}");
        }
        let response = client
            .post(format!("http://{address}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "street_dispatcher", "password": "secret-demo"}))
            .send()
            .await
            .unwrap();
        let token = response.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_string();
        let page: serde_json::Value =
            client.get(format!("http://{address}/api/v1/regions?level=community")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 10, "回龙观街道 has ten communities");
    });
    child.kill().unwrap();
    child.wait().unwrap();
}
