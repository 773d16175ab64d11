//! Black-box tests of the HTTP API on a real server bound to a random port, against SQLite and
//! (when `LINLI_TEST_DATABASE_URL` is set) PostgreSQL.
mod common;

use std::sync::Arc;

use linli_api::AppState;
use linli_domain::region::RegionInput;
use linli_domain::NewRegion;
use linli_store::{ImportBatch, Jurisdiction, SqlStore, Store};
use reqwest::StatusCode;
use serde_json::{json, Value};

struct TestApp {
    base: String,
    client: reqwest::Client,
    store: Arc<SqlStore>,
    _dir: Option<tempfile::TempDir>,
}

impl TestApp {
    async fn login(&self, username: &str) -> String {
        let response = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": username, "password": common::PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "login {username}");
        response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self.client.get(format!("{}/api/v1{path}", self.base)).bearer_auth(token).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn send(&self, method: reqwest::Method, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self.client.request(method, format!("{}/api/v1{path}", self.base)).bearer_auth(token).json(&body).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn region(code: &str, level: &str, parent: Option<&str>, lon: f64, lat: f64) -> (usize, NewRegion) {
    let name = format!("名{code}");
    let r = NewRegion::parse(RegionInput {
        code: Some(code),
        level: Some(level),
        name: Some(&name),
        parent_code: parent,
        lon: Some(lon),
        lat: Some(lat),
        ..Default::default()
    })
    .unwrap();
    (0, r)
}

async fn spawn_app(store: SqlStore, dir: Option<tempfile::TempDir>, session_ttl_ms: i64) -> TestApp {
    let store = Arc::new(store);
    let all = Jurisdiction::everywhere();
    let regions = vec![
        region("d", "district", None, 116.3, 40.1),
        region("s", "street", Some("d"), 116.33, 40.07),
        region("c1", "community", Some("s"), 116.32, 40.07),
        region("c2", "community", Some("s"), 116.34, 40.08),
        region("b1", "building", Some("c1"), 116.321, 40.071),
        region("b2", "building", Some("c2"), 116.341, 40.081),
        region("h1", "dwelling", Some("b1"), 116.321, 40.071),
        region("h2", "dwelling", Some("b2"), 116.341, 40.081),
    ];
    store.import(&all, &ImportBatch::Regions(regions)).await.unwrap();
    let residents = linli_import::parse(
        linli_import::ImportKind::Residents,
        linli_import::Format::Csv,
        "name,id_number,phone,dwelling_code,care_tags\n张三,110114199003071234,13812345678,h1,独居老人\n李四,110114198001011238,13900001111,h2,\n".as_bytes(),
    )
    .unwrap();
    store.import(&all, &residents).await.unwrap();
    let orgs = linli_import::parse(
        linli_import::ImportKind::Organisations,
        linli_import::Format::Csv,
        "code,name,kind,region_code\ndept.urban_mgmt,城管委,department,d\n".as_bytes(),
    )
    .unwrap();
    store.import(&all, &orgs).await.unwrap();
    common::provision(
        &store,
        &[
            ("admin", "admin", None, None),
            ("leader", "leader", Some("d"), None),
            ("gw", "grid_worker", Some("c1"), None),
            ("cw2", "community_worker", Some("c2"), None),
            ("resident", "resident", Some("h1"), None),
            ("steward", "data_steward", Some("s"), None),
            ("handler", "department_handler", None, Some("dept.urban_mgmt")),
            ("street_admin", "admin", Some("s"), None),
        ],
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut state = AppState::new(store.clone());
    state.session_ttl_ms = session_ttl_ms;
    tokio::spawn(linli_api::serve(listener, state, std::future::pending()));
    TestApp { base, client: reqwest::Client::new(), store, _dir: dir }
}

async fn sqlite_app(session_ttl_ms: i64) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open_sqlite(&dir.path().join("linli.db")).await.unwrap();
    Some(spawn_app(store, Some(dir), session_ttl_ms).await)
}

async fn postgres_app(session_ttl_ms: i64) -> Option<TestApp> {
    let store = common::postgres_store("linli_http").await?;
    Some(spawn_app(store, None, session_ttl_ms).await)
}

macro_rules! http_suite {
    ($($test:ident),+ $(,)?) => {
        mod sqlite { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() { if let Some(app) = super::sqlite_app(3_600_000).await { super::$test(app).await } })+ }
        mod postgres { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() { if let Some(app) = super::postgres_app(3_600_000).await { super::$test(app).await } })+ }
    };
}

http_suite!(
    login_and_token_errors,
    masking_and_audit,
    jurisdiction_and_roles,
    registry_crud_and_bad_input,
    http_import_all_or_nothing,
    spatial_and_paging,
    operations_endpoints,
    api_tokens_and_users
);

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["code"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

async fn login_and_token_errors(app: TestApp) {
    let url = format!("{}/api/v1/auth/login", app.base);
    let wrong = app.client.post(&url).json(&json!({"username": "gw", "password": "nope-nope"})).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_error(&wrong.json().await.unwrap(), "invalid_credentials");
    let unknown = app.client.post(&url).json(&json!({"username": "ghost", "password": "nope-nope"})).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let malformed = app.client.post(&url).header("content-type", "application/json").body("{\"username\": ").send().await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_error(&malformed.json().await.unwrap(), "invalid_json");

    let (status, body) = app.get("not-a-token", "/regions").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "unauthenticated");
    let none = app.client.get(format!("{}/api/v1/regions", app.base)).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);

    let token = app.login("gw").await;
    let (status, me) = app.get(&token, "/auth/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((me["user"]["role"].as_str(), me["jurisdiction"].as_str(), me["sees_sensitive"].as_bool()), (Some("grid_worker"), Some("c1"), Some(true)));
    let (status, _) = app.send(reqwest::Method::POST, &token, "/auth/logout", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&token, "/auth/me").await.0, StatusCode::UNAUTHORIZED);

    // Expired sessions are refused.
    let short = sqlite_app(1).await.unwrap();
    let token = short.login("gw").await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (status, body) = short.get(&token, "/auth/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "unauthenticated");
}

async fn masking_and_audit(app: TestApp) {
    let leader = app.login("leader").await;
    let (status, page) = app.get(&leader, "/residents").await;
    assert_eq!(status, StatusCode::OK);
    let zhang = page["items"].as_array().unwrap().iter().find(|r| r["home_code"] == "h1").unwrap().clone();
    assert_eq!((zhang["name"].as_str(), zhang["id_number"].as_str(), zhang["phone"].as_str()), (Some("张*"), Some("110***********1234"), Some("138****5678")));
    // Masked roles may not search by personal data.
    assert_eq!(app.get(&leader, "/residents?q=张").await.0, StatusCode::FORBIDDEN);

    let gw = app.login("gw").await;
    let (status, page) = app.get(&gw, "/residents").await;
    assert_eq!(status, StatusCode::OK);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the grid worker sees only c1's residents");
    assert_eq!((items[0]["name"].as_str(), items[0]["id_number"].as_str()), (Some("张三"), Some("110114199003071234")));
    let id = items[0]["id"].as_i64().unwrap();
    assert_eq!(app.get(&gw, &format!("/residents/{id}")).await.0, StatusCode::OK);

    let admin = app.login("admin").await;
    let (status, audit) = app.get(&admin, &format!("/audit/access?username=gw&record_id={id}")).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["list", "read"]);
    assert!(audit["items"][0]["request_id"].as_str().is_some());
    // Masked reads are not audited; nobody but admins reads the log.
    let (_, leader_audit) = app.get(&admin, "/audit/access?username=leader").await;
    assert!(leader_audit["items"].as_array().unwrap().is_empty());
    assert_eq!(app.get(&gw, "/audit/access").await.0, StatusCode::FORBIDDEN);

    // Free-form attributes never reach masked roles; a bound administrator reads no audit log.
    assert!(zhang["attributes"].as_object().unwrap().is_empty());
    let street_admin = app.login("street_admin").await;
    assert_eq!(app.get(&street_admin, "/audit/access").await.0, StatusCode::FORBIDDEN);

    let resident = app.login("resident").await;
    let (status, body) = app.get(&resident, "/residents").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, "forbidden");
}

async fn jurisdiction_and_roles(app: TestApp) {
    let cw2 = app.login("cw2").await;
    let (status, body) = app.get(&cw2, "/regions/b1").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, "out_of_jurisdiction");
    let (_, page) = app.get(&cw2, "/regions").await;
    let codes: Vec<&str> = page["items"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["c2", "b2", "h2"]);
    let (status, _) = app.send(reqwest::Method::POST, &cw2, "/regions", json!({"code": "b9", "level": "building", "name": "9号楼", "parent_code": "c1"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.send(reqwest::Method::POST, &cw2, "/regions", json!({"code": "b9", "level": "building", "name": "9号楼", "parent_code": "c2"})).await;
    assert_eq!(status, StatusCode::CREATED);

    let leader = app.login("leader").await;
    let (status, body) =
        app.send(reqwest::Method::POST, &leader, "/regions", json!({"code": "b8", "level": "building", "name": "8号楼", "parent_code": "c2"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "leaders watch, they do not edit the registry");
    assert_error(&body, "forbidden");

    // An organisation-bound handler acts within the organisation's region.
    let handler = app.login("handler").await;
    let (status, me) = app.get(&handler, "/auth/me").await;
    assert_eq!((status, me["jurisdiction"].as_str()), (StatusCode::OK, Some("d")));
    let (status, orgs) = app.get(&cw2, "/organisations").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(orgs["items"][0]["code"], "dept.urban_mgmt", "departments serving the district are visible to its communities");
}

async fn registry_crud_and_bad_input(app: TestApp) {
    let steward = app.login("steward").await;
    let created = app.send(reqwest::Method::POST, &steward, "/regions", json!({"code": "g1", "level": "网格", "name": "一网格", "parent_code": "c1", "geometry": {"type": "Polygon", "coordinates": [[[116.31, 40.06], [116.33, 40.06], [116.33, 40.08], [116.31, 40.06]]]}})).await;
    assert_eq!(created.0, StatusCode::CREATED, "{}", created.1);
    assert_eq!(created.1["level"], "grid");
    let (status, body) =
        app.send(reqwest::Method::POST, &steward, "/regions", json!({"code": "g1", "level": "grid", "name": "重复", "parent_code": "c1"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&body, "conflict");
    let (status, body) = app
        .send(
            reqwest::Method::POST,
            &steward,
            "/regions",
            json!({"code": "g2", "level": "grid", "name": "坏坐标", "parent_code": "c1", "lon": 200.0, "lat": 40.0}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["field"], "lon", "{body}");
    let (status, body) =
        app.send(reqwest::Method::POST, &steward, "/regions", json!({"code": "g3", "level": "grid", "name": "孤儿", "parent_code": "nowhere"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["field"], "parent_code");
    let (status, body) = app.send(reqwest::Method::PATCH, &steward, "/regions/c1", json!({"parent_code": "b1"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("cycle"), "{body}");
    let (status, moved) = app.send(reqwest::Method::PATCH, &steward, "/regions/b1", json!({"parent_code": "g1", "attributes": {"floors": 18}})).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!((moved["parent_code"].as_str(), moved["attributes"]["floors"].as_i64()), (Some("g1"), Some(18)));
    let (status, ancestors) = app.get(&steward, "/regions/h1/ancestors").await;
    assert_eq!(status, StatusCode::OK);
    let chain: Vec<&str> = ancestors.as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(chain, ["s", "c1", "g1", "b1", "h1"], "the chain stops at the top of the jurisdiction");

    let (status, resident) = app.send(reqwest::Method::POST, &steward, "/residents", json!({"name": "王五", "id_number": "110114200001011231", "phone": "13700000000", "dwelling_code": "h1", "care_tags": ["低保"], "residence_kind": "流动"})).await;
    assert_eq!(status, StatusCode::CREATED, "{resident}");
    assert_eq!((resident["care_tags"][0].as_str(), resident["residence_kind"].as_str()), (Some("low_income"), Some("floating")));
    let (status, body) = app.send(reqwest::Method::POST, &steward, "/residents", json!({"name": "", "id_number": "123", "dwelling_code": "h1"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "id_number"]);
    let id = resident["id"].as_i64().unwrap();
    let (status, linked) = app.send(reqwest::Method::PUT, &steward, &format!("/residents/{id}/dwellings/h2"), json!({"relation": "owner"})).await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert_eq!(linked["dwellings"].as_array().unwrap().len(), 2);
    let (status, _) = app.send(reqwest::Method::DELETE, &steward, &format!("/residents/{id}"), json!(null)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, device) = app
        .send(
            reqwest::Method::POST,
            &steward,
            "/devices",
            json!({"code": "cam-1", "name": "高空抛物摄像头", "kind": "camera", "region_code": "b1", "owner_org_code": "dept.urban_mgmt"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    assert_eq!(device["status"], "offline");
    let (status, body) =
        app.send(reqwest::Method::POST, &steward, "/devices", json!({"code": "x-1", "name": "x", "kind": "toaster", "region_code": "b1"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["field"], "kind");
    let (status, patched) =
        app.send(reqwest::Method::PATCH, &steward, "/devices/cam-1", json!({"status": "online", "position": {"lon": 116.3211, "lat": 40.0711}})).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["position"]["lon"], 116.3211);
    let (status, _) = app.send(reqwest::Method::DELETE, &steward, "/regions/c1", json!(null)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = app.send(reqwest::Method::PATCH, &steward, "/regions/c1", json!({"nmae": "typo"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(&body, "invalid_json");
}

async fn http_import_all_or_nothing(app: TestApp) {
    let steward = app.login("steward").await;
    let url = format!("{}/api/v1/import/dwellings", app.base);
    let bad = "code,name,parent_code\nh10,10室,b1\nh11,11室,missing\nh10,重复,b1\nh12,12室,b2\n";
    let response = app.client.post(&url).bearer_auth(&steward).header("content-type", "text/csv").body(bad).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_error(&body, "invalid_rows");
    let rows: Vec<i64> = body["errors"].as_array().unwrap().iter().map(|e| e["row"].as_i64().unwrap()).collect();
    assert_eq!(rows, [3, 4]);
    assert_eq!(app.get(&steward, "/regions/h10").await.0, StatusCode::NOT_FOUND, "nothing half-written");

    let good = "code,name,parent_code,households\nh10,10室,b1,3\nh12,12室,b2,1\n";
    let response = app.client.post(&url).bearer_auth(&steward).header("content-type", "text/csv").body(good).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["inserted"], 2);
    let (_, h10) = app.get(&steward, "/regions/h10").await;
    assert_eq!(h10["attributes"]["households"], "3");

    let gw = app.login("gw").await;
    let response = app.client.post(&url).bearer_auth(&gw).body(good).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app.client.post(format!("{}/api/v1/import/planets", app.base)).bearer_auth(&steward).body(good).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn spatial_and_paging(app: TestApp) {
    let leader = app.login("leader").await;
    let (status, page) = app.get(&leader, "/regions?level=dwelling&bbox=116.32,40.07,116.33,40.075").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["code"], "h1");
    let (_, page) = app.get(&leader, "/regions?level=building&near=116.321,40.071&radius=100").await;
    assert_eq!(page["items"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect::<Vec<_>>(), ["b1"]);
    let (status, body) = app.get(&leader, "/residents/not-a-number").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "invalid_path");
    for q in ["%00", "abc%00def", "%E7%A4%BE%E5%8C%BA%0A1"] {
        let (status, body) = app.get(&leader, &format!("/regions?q={q}")).await;
        assert_eq!((status, body["errors"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("q")), "{q}: {body}");
    }
    let (status, body) = app.get(&leader, "/regions?bbox=1,2,3").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["field"], "bbox");
    assert_eq!(app.get(&leader, "/regions?limit=0").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(app.get(&leader, "/regions?limit=abc").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(app.get(&leader, "/regions?level=planet").await.0, StatusCode::BAD_REQUEST);

    let mut cursor = String::new();
    let mut seen = Vec::new();
    loop {
        let (status, page) = app.get(&leader, &format!("/regions?limit=3&cursor={cursor}")).await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(page["items"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, ["d", "s", "c1", "b1", "h1", "c2", "b2", "h2"]);
    assert_eq!(app.get(&leader, "/regions?cursor=../../etc").await.0, StatusCode::BAD_REQUEST);
    let (_, found) = app.get(&leader, "/regions?q=c2").await;
    assert_eq!(found["items"][0]["code"], "c2");
}

async fn operations_endpoints(app: TestApp) {
    let health = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready: Value = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    let response = app.client.get(format!("{}/api/v1/nothing-here", app.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.headers().get("x-request-id").is_some());
    assert_error(&response.json().await.unwrap(), "not_found");
    let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    let openapi: Value = app.client.get(format!("{}/api/v1/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/auth/login",
        "/regions",
        "/regions/{code}",
        "/residents",
        "/residents/{id}",
        "/organisations",
        "/devices",
        "/users",
        "/audit/access",
        "/import/{kind}",
    ] {
        assert!(openapi["paths"][path].is_object(), "openapi lacks {path}");
    }
    assert!(openapi["components"]["schemas"]["Region"].is_object());
}

async fn api_tokens_and_users(app: TestApp) {
    let admin = app.login("admin").await;
    let (status, created) = app
        .send(reqwest::Method::POST, &admin, "/users", json!({"username": "gw2", "password": "another-pass", "role": "grid_worker", "region_code": "c2"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, body) = app.send(reqwest::Method::POST, &admin, "/users", json!({"username": "x", "password": "short", "role": "wizard"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["username", "password", "role"]);
    let id = created["id"].as_i64().unwrap();
    let (status, token) = app.send(reqwest::Method::POST, &admin, "/auth/tokens", json!({"name": "camera gateway", "user_id": id})).await;
    assert_eq!(status, StatusCode::CREATED);
    let api_token = token["token"].as_str().unwrap().to_string();
    let (status, me) = app.get(&api_token, "/auth/me").await;
    assert_eq!((status, me["user"]["username"].as_str()), (StatusCode::OK, Some("gw2")));
    let (status, _) = app.send(reqwest::Method::PATCH, &admin, &format!("/users/{id}"), json!({"disabled": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get(&api_token, "/auth/me").await.0, StatusCode::UNAUTHORIZED, "a disabled user's tokens stop working");
    let gw = app.login("gw").await;
    assert_eq!(app.get(&gw, "/users").await.0, StatusCode::FORBIDDEN);
    let (status, _) = app.send(reqwest::Method::POST, &gw, "/auth/tokens", json!({"name": "mine"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "grid workers hold no long-lived tokens");

    // A bound administrator can neither unbind anyone (themselves included) nor bind outside.
    let street_admin = app.login("street_admin").await;
    let (_, me) = app.get(&street_admin, "/auth/me").await;
    let own_id = me["user"]["id"].as_i64().unwrap();
    let (status, _) = app.send(reqwest::Method::PATCH, &street_admin, &format!("/users/{own_id}"), json!({"region_code": null})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .send(
            reqwest::Method::POST,
            &street_admin,
            "/users",
            json!({"username": "x2", "password": "another-pass", "role": "grid_worker", "region_code": "c1", "org_code": "dept.urban_mgmt"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the department serves the whole district, outside the street");
    let (status, _) = app
        .send(reqwest::Method::POST, &street_admin, "/users", json!({"username": "x3", "password": "another-pass", "role": "grid_worker", "region_code": "c1"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = app.send(reqwest::Method::PATCH, &admin, &format!("/users/{id}"), json!({"region_code": null})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a grid worker must stay bound: {body}");
    let (status, users) = app.get(&admin, "/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(users["items"].as_array().unwrap().len() >= 8);
    drop(app.store.clone());
}
