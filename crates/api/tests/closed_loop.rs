//! The work-order closed loop end to end, on a real server with a clock the test moves, against
//! SQLite and (when `LINLI_TEST_DATABASE_URL` is set) PostgreSQL: a 12345 complaint down the chain
//! and back, a reopening after an unsatisfied callback, a whistle with a late department, the
//! three rates and the on-time report rates; then Open311 GeoReport v2 as its specification says.
mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use linli_api::AppState;
use linli_domain::time::{format_rfc3339, parse_rfc3339};
use linli_store::{Jurisdiction, SqlStore, Store};
use reqwest::StatusCode;
use serde_json::{json, Value};

struct App {
    base: String,
    client: reqwest::Client,
    clock: Arc<AtomicI64>,
    store: Arc<SqlStore>,
    _dir: tempfile::TempDir,
}

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

impl App {
    fn set_time(&self, ms: i64) {
        self.clock.store(ms, Ordering::SeqCst);
    }

    async fn login(&self, username: &str) -> String {
        let (status, body) =
            self.call(reqwest::Method::POST, None, "/api/v1/auth/login", Some(json!({"username": username, "password": common::PASSWORD}))).await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        body["token"].as_str().unwrap().to_string()
    }

    async fn call(&self, method: reqwest::Method, token: Option<&str>, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, token: &str, path: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, Some(token), &format!("/api/v1{path}"), None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, Some(token), &format!("/api/v1{path}"), Some(body)).await
    }

    /// Acts on an order and expects it to work; returns the order.
    async fn act(&self, token: &str, id: i64, body: Value) -> Value {
        let (status, reply) = self.post(token, &format!("/orders/{id}/actions"), body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}: {reply}");
        reply["order"].clone()
    }
}

async fn start(store: SqlStore, dir: tempfile::TempDir) -> App {
    let store = Arc::new(store);
    let all = Jurisdiction::everywhere();
    let regions = linli_import::parse(
        linli_import::ImportKind::Regions,
        linli_import::Format::Csv,
        "code,level,name,parent_code,lon,lat\n\
         d,district,昌平区,,116.23,40.22\n\
         s,street,回龙观街道,d,116.33,40.07\n\
         c1,community,龙泽苑社区,s,116.32,40.07\n\
         c2,community,回龙观东社区,s,116.35,40.08\n"
            .as_bytes(),
    )
    .unwrap();
    store.import(&all, &regions).await.unwrap();
    let orgs = linli_import::parse(
        linli_import::ImportKind::Organisations,
        linli_import::Format::Csv,
        "code,name,kind,region_code\n\
         dept.water,水务局,department,d\n\
         dept.police,公安分局,department,d\n\
         dept.fire,消防救援支队,department,d\n\
         dept.urban_mgmt,城市管理委员会,department,d\n\
         dept.ecology,生态环境局,department,d\n\
         dept.street,街道办事处,street_office,s\n"
            .as_bytes(),
    )
    .unwrap();
    store.import(&all, &orgs).await.unwrap();
    common::provision(
        &store,
        &[
            ("admin", "admin", None, None),
            ("district", "district_dispatcher", Some("d"), None),
            ("street", "street_dispatcher", Some("s"), None),
            ("street_leader", "street_leader", Some("s"), None),
            ("community", "community_worker", Some("c1"), None),
            ("secretary", "community_secretary", Some("c1"), None),
            ("water", "department_handler", None, Some("dept.water")),
            ("police", "department_handler", None, Some("dept.police")),
            ("fire", "department_handler", None, Some("dept.fire")),
            ("urban", "department_handler", None, Some("dept.urban_mgmt")),
            ("leader", "leader", Some("d"), None),
            ("resident", "resident", Some("c1"), None),
        ],
    )
    .await;
    let clock = Arc::new(AtomicI64::new(parse_rfc3339("t", "2026-11-23T09:00:00+08:00").unwrap()));
    let mut state = AppState::new(store.clone());
    let ticks = clock.clone();
    state.clock = Arc::new(move || ticks.load(Ordering::SeqCst));
    state.media_dir = Arc::new(dir.path().join("media"));
    state.max_media_bytes = 1024;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(linli_api::serve(listener, state, std::future::pending()));
    App { base, client: reqwest::Client::new(), clock, store, _dir: dir }
}

async fn sqlite() -> Option<App> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open_sqlite(&dir.path().join("linli.db")).await.unwrap();
    Some(start(store, dir).await)
}

async fn postgres() -> Option<App> {
    let store = common::postgres_store("linli_loop").await?;
    Some(start(store, tempfile::tempdir().unwrap()).await)
}

macro_rules! suite {
    ($($test:ident),+ $(,)?) => {
        mod sqlite { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() { if let Some(app) = super::sqlite().await { super::$test(app).await } })+ }
        mod postgres { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() { if let Some(app) = super::postgres().await { super::$test(app).await } })+ }
    };
}

suite!(
    the_whole_chain,
    open311_georeport_v2,
    bad_input_and_concurrency,
    merging_applications_and_calendar,
    webhooks_and_live_stream,
    cockpit_counts_and_residents_follow_their_reports
);

fn t(start: i64, offset: i64) -> String {
    format_rfc3339(start + offset)
}

async fn the_whole_chain(app: App) {
    let t0 = app.clock.load(Ordering::SeqCst);
    let district = app.login("district").await;
    let street = app.login("street").await;
    let community = app.login("community").await;
    let water = app.login("water").await;
    let admin = app.login("admin").await;

    // A 12345 complaint arrives and opens an order at the district.
    let (status, outcome) = app
        .post(
            &district,
            "/events",
            json!({"source": "hotline_12345", "category": "util.water", "region_code": "c1", "description": "3号楼停水两天",
                   "reporter_name": "王芳", "reporter_phone": "13800001111", "external_id": "12345-0001"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{outcome}");
    let order = &outcome["order"];
    let id = order["id"].as_i64().unwrap();
    assert_eq!((order["status"].as_str(), order["holder"]["code"].as_str()), (Some("new"), Some("d")));
    assert_eq!(order["urgency"], "utility");
    assert_eq!(order["suggested_org_code"], "dept.water");
    assert_eq!(order["response_due_at"], t(t0, 2 * HOUR));
    assert_eq!(order["resolve_due_at"], t(t0, 24 * HOUR));
    assert_eq!(order["proactive"], false);
    assert_eq!(order["source"], "hotline_12345");
    // The district dispatcher may not see the caller's phone unmasked.
    assert_eq!(order["requester"]["phone"], "138****1111");

    // A second, ordinary complaint the district handles itself, late.
    let (_, second) =
        app.post(&district, "/events", json!({"source": "hotline_12345", "category": "env.noise", "region_code": "c2", "description": "夜间施工"})).await;
    let second_id = second["order"]["id"].as_i64().unwrap();
    assert_eq!(second["order"]["resolve_due_at"], t(t0, 7 * 24 * HOUR));

    app.set_time(t0 + 10 * MINUTE);
    let o = app.act(&district, id, json!({"action": "dispatch", "to": {"kind": "region", "code": "s"}, "version": 1})).await;
    assert_eq!((o["status"].as_str(), o["holder"]["code"].as_str(), o["version"].as_i64()), (Some("dispatched"), Some("s"), Some(2)));
    // Only the holder acts: the district cannot accept what the street holds.
    let (status, body) = app.post(&district, &format!("/orders/{id}/actions"), json!({"action": "accept"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    app.set_time(t0 + 20 * MINUTE);
    app.act(&street, id, json!({"action": "dispatch", "to": {"kind": "region", "code": "c1"}})).await;
    app.set_time(t0 + 30 * MINUTE);
    let o = app.act(&community, id, json!({"action": "return", "reason": "供水管线不归社区管"})).await;
    assert_eq!((o["status"].as_str(), o["holder"]["code"].as_str()), (Some("returned"), Some("s")));
    app.set_time(t0 + 40 * MINUTE);
    app.act(&street, id, json!({"action": "dispatch", "to": {"kind": "organisation", "code": "dept.water"}, "note": "请水务局处置"})).await;
    app.set_time(t0 + 50 * MINUTE);
    let o = app.act(&water, id, json!({"action": "accept"})).await;
    assert_eq!(o["responded_at"], t(t0, 50 * MINUTE));

    // A whistle: three departments summoned, one reports late.
    app.set_time(t0 + HOUR);
    let leader = app.login("street_leader").await;
    let (status, whistle) = app
        .post(
            &leader,
            "/whistles",
            json!({"title": "龙泽苑管线抢修", "urgency": "emergency", "departments": ["dept.police", "dept.fire", "dept.urban_mgmt"], "order_id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{whistle}");
    let wid = whistle["id"].as_i64().unwrap();
    assert_eq!(whistle["deadline"], t(t0, HOUR + 30 * MINUTE));
    for (who, at) in [("police", 70), ("fire", 80), ("urban", 120)] {
        let token = app.login(who).await;
        app.set_time(t0 + at * MINUTE);
        let (status, body) = app.post(&token, &format!("/whistles/{wid}/reports"), json!({"step": "check_in", "lon": 116.32, "lat": 40.07})).await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
        if who != "urban" {
            let (status, body) = app.post(&token, &format!("/whistles/{wid}/reports"), json!({"step": "record", "action": "到场处置"})).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    let (status, body) = app.post(&leader, &format!("/whistles/{wid}/close"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "closing before everyone reported: {body}");
    let urban = app.login("urban").await;
    app.post(&urban, &format!("/whistles/{wid}/reports"), json!({"step": "record", "action": "清理现场"})).await;
    let (status, closed) = app.post(&leader, &format!("/whistles/{wid}/close"), json!({"note": "处置完毕"})).await;
    assert_eq!((status, closed["status"].as_str()), (StatusCode::OK, Some("closed")));
    let view = app.get(&leader, &format!("/whistles/{wid}")).await;
    let on_time: Vec<Value> = view["summons"].as_array().unwrap().iter().map(|s| s["on_time"].clone()).collect();
    assert_eq!(on_time, [json!(true), json!(true), json!(false)]);
    let actions: Vec<&str> = view["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["summoned", "checked_in", "recorded", "checked_in", "recorded", "checked_in", "recorded", "closed"]);
    let rates = app.get(&leader, "/whistles/report-rates?from=2026-11-23T00:00:00%2B08:00").await;
    let by_org: Vec<(String, i64, i64, Value)> = rates
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["org_code"].as_str().unwrap().to_string(), r["due"].as_i64().unwrap(), r["on_time"].as_i64().unwrap(), r["on_time_rate"].clone()))
        .collect();
    assert_eq!(
        by_org,
        [("dept.fire".to_string(), 1, 1, json!(1.0)), ("dept.police".to_string(), 1, 1, json!(1.0)), ("dept.urban_mgmt".to_string(), 1, 0, json!(0.0))]
    );

    // The deadline sweep: the second order was not responded to within 2 hours.
    app.set_time(t0 + 150 * MINUTE);
    let (status, sweep) = app.post(&admin, "/orders/sweep", json!({})).await;
    assert_eq!((status, sweep["recorded"].as_i64()), (StatusCode::OK, Some(1)), "{sweep}");
    app.set_time(t0 + 3 * HOUR);
    app.act(&district, second_id, json!({"action": "accept"})).await;
    app.act(&water, id, json!({"action": "resolve", "result": "更换阀门，恢复供水"})).await;
    app.set_time(t0 + 210 * MINUTE);
    app.act(&district, second_id, json!({"action": "resolve", "result": "已责令停工"})).await;

    // An illegal transition lists what is allowed.
    let (status, body) = app.post(&street, &format!("/orders/{id}/actions"), json!({"action": "close"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "illegal_transition");
    assert_eq!(body["allowed"], json!(["callback", "terminate", "supervise", "comment"]));

    app.set_time(t0 + 4 * HOUR);
    let o = app.act(&street, id, json!({"action": "callback", "solved": false, "satisfaction": "unsatisfied", "note": "水压仍然很低"})).await;
    assert_eq!(o["status"], "callback");
    app.set_time(t0 + 250 * MINUTE);
    let o = app.act(&street, id, json!({"action": "reopen", "note": "重办"})).await;
    assert_eq!((o["status"].as_str(), o["holder"]["code"].as_str()), (Some("in_progress"), Some("dept.water")));
    assert_eq!(o["resolve_due_at"], t(t0, 250 * MINUTE + 24 * HOUR));
    app.set_time(t0 + 6 * HOUR);
    app.act(&water, id, json!({"action": "resolve", "result": "更换加压泵"})).await;
    app.set_time(t0 + 7 * HOUR);
    app.act(&street, id, json!({"action": "callback", "solved": true, "satisfaction": "satisfied"})).await;
    app.set_time(t0 + 7 * HOUR + 5 * MINUTE);
    let o = app.act(&street, id, json!({"action": "close"})).await;
    assert_eq!((o["status"].as_str(), o["closed_at"].as_str()), (Some("closed"), Some(t(t0, 7 * HOUR + 5 * MINUTE).as_str())));
    app.set_time(t0 + 5 * HOUR);
    app.act(&district, second_id, json!({"action": "callback", "solved": false, "satisfaction": "basically_satisfied"})).await;
    app.set_time(t0 + 8 * HOUR);

    // Every history entry, in order, with who moved the order where and when.
    let view = app.get(&street, &format!("/orders/{id}")).await;
    let history = view["history"].as_array().unwrap();
    let rows: Vec<(i64, &str, String, &str, &str, &str)> = history
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["action"].as_str().unwrap(),
                e["at"].as_str().unwrap().to_string(),
                e["actor"]["username"].as_str().unwrap_or("-"),
                e["to_status"].as_str().unwrap_or("-"),
                e["to_unit"]["code"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    let expected: Vec<(i64, &str, String, &str, &str, &str)> = vec![
        (1, "created", t(t0, 0), "-", "new", "d"),
        (2, "dispatch", t(t0, 10 * MINUTE), "district", "dispatched", "s"),
        (3, "dispatch", t(t0, 20 * MINUTE), "street", "dispatched", "c1"),
        (4, "return", t(t0, 30 * MINUTE), "community", "returned", "s"),
        (5, "dispatch", t(t0, 40 * MINUTE), "street", "dispatched", "dept.water"),
        (6, "accept", t(t0, 50 * MINUTE), "water", "accepted", "dept.water"),
        (7, "resolve", t(t0, 3 * HOUR), "water", "resolved", "dept.water"),
        (8, "callback", t(t0, 4 * HOUR), "street", "callback", "dept.water"),
        (9, "reopen", t(t0, 250 * MINUTE), "street", "in_progress", "dept.water"),
        (10, "resolve", t(t0, 6 * HOUR), "water", "resolved", "dept.water"),
        (11, "callback", t(t0, 7 * HOUR), "street", "callback", "dept.water"),
        (12, "close", t(t0, 7 * HOUR + 5 * MINUTE), "street", "closed", "dept.water"),
    ];
    assert_eq!(rows, expected);
    assert_eq!(history[3]["note"], "供水管线不归社区管");
    assert_eq!(history[3]["from_unit"]["code"], "c1");
    assert_eq!(history[7]["data"], json!({"solved": false, "satisfaction": "unsatisfied", "channel": "operator"}));
    let chain: Vec<&str> = view["chain"].as_array().unwrap().iter().map(|u| u["code"].as_str().unwrap()).collect();
    assert_eq!(chain, ["d", "s", "dept.water"]);
    assert_eq!((view["callback_count"].as_i64(), view["reopen_count"].as_i64(), view["version"].as_i64()), (Some(2), Some(1), Some(12)));
    assert_eq!(view["handler_org_code"], "dept.water");
    assert_eq!(view["allowed_actions"], json!([]));

    let second_history: Vec<String> = app
        .get(&district, &format!("/orders/{second_id}/history"))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(second_history, ["created", "response_overdue", "accept", "resolve", "callback"]);

    // The three rates over the district for the day: order one responded on time, order two late;
    // one of two callbacks confirms the problem solved; both ratings count as satisfied.
    let rates = app.get(&district, "/rates?region=d&from=2026-11-23&to=2026-11-24").await;
    assert_eq!(rates["counts"]["orders"], 2);
    assert_eq!(
        (rates["counts"]["due"].as_i64(), rates["counts"]["responded_on_time"].as_i64(), rates["counts"]["responded_late"].as_i64()),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!((rates["response_rate"].as_f64(), rates["resolution_rate"].as_f64(), rates["satisfaction_rate"].as_f64()), (Some(0.5), Some(0.5), Some(1.0)));
    // Per organisation: the water bureau handled one order, on time, solved, satisfied.
    let water_rates = app.get(&district, "/rates?org=dept.water&from=2026-11-23&to=2026-11-24").await;
    assert_eq!(
        (water_rates["response_rate"].as_f64(), water_rates["resolution_rate"].as_f64(), water_rates["satisfaction_rate"].as_f64()),
        (Some(1.0), Some(1.0), Some(1.0))
    );
    // The formula is configuration: weigh 基本满意 at one half.
    let mut settings = app.get(&admin, "/settings").await;
    settings["rates"]["basically_satisfied"] = json!(0.5);
    let (status, _) = app.call(reqwest::Method::PUT, Some(&admin), "/api/v1/settings", Some(settings)).await;
    assert_eq!(status, StatusCode::OK);
    let rates = app.get(&district, "/rates?region=d&from=2026-11-23&to=2026-11-24").await;
    assert_eq!(rates["satisfaction_rate"].as_f64(), Some(0.75));

    // The outbox recorded every change for webhooks and screens.
    let messages = app.store.outbox_after(0, 1000).await.unwrap();
    assert!(messages.iter().any(|m| m.topic == "order.return"));
    assert!(messages.iter().any(|m| m.topic == "whistle.checked_in"));
}

async fn bad_input_and_concurrency(app: App) {
    let district = app.login("district").await;
    let community = app.login("community").await;
    let (status, body) = app.post(&district, "/events", json!({"source": "hotline_12345", "category": "nope", "region_code": "c1"})).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("category")));
    let (status, body) = app.post(&district, "/events", json!({"source": "hotline_12345", "category": "env.noise"})).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("location")));
    let (status, body) =
        app.post(&district, "/events", json!({"source": "hotline_12345", "category": "env.noise", "region_code": "c1", "lat": 95.0, "lon": 116.0})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Outside the caller's jurisdiction.
    let (status, _) = app.post(&community, "/events", json!({"source": "grid_patrol", "category": "env.noise", "region_code": "c2"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Idempotent creation.
    let request = app
        .client
        .post(format!("{}/api/v1/orders", app.base))
        .bearer_auth(&district)
        .header("Idempotency-Key", "k-1")
        .json(&json!({"category": "env.sanitation", "region_code": "c1", "title": "垃圾堆积"}));
    let first: Value = request.try_clone().unwrap().send().await.unwrap().json().await.unwrap();
    let again: Value = request.send().await.unwrap().json().await.unwrap();
    assert_eq!(first["id"], again["id"]);
    let id = first["id"].as_i64().unwrap();

    // A stale version gets 409; so does a deadline in the past.
    let (status, body) = app.post(&district, &format!("/orders/{id}/actions"), json!({"action": "accept", "version": 7})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("stale_version")));
    app.act(&district, id, json!({"action": "accept", "version": 1})).await;
    let (status, body) =
        app.post(&district, &format!("/orders/{id}/actions"), json!({"action": "request_extension", "until": "2020-01-01T00:00:00Z", "reason": "x"})).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("until")));
    let leader = app.login("street_leader").await;
    let (status, body) =
        app.post(&leader, "/whistles", json!({"title": "t", "urgency": "routine", "departments": ["dept.fire"], "deadline": "2020-01-01T00:00:00Z"})).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("deadline")));
    let (status, body) = app.post(&district, &format!("/orders/{id}/actions"), json!({"action": "fly"})).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("action")));
    // Dispatch goes down, to a place covering the order.
    let (status, body) = app.post(&district, &format!("/orders/{id}/actions"), json!({"action": "dispatch", "to": {"kind": "region", "code": "c2"}})).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("to")));

    // Oversized and acceptable attachments.
    let upload =
        |bytes: Vec<u8>| app.client.post(format!("{}/api/v1/media", app.base)).bearer_auth(&district).header("content-type", "image/jpeg").body(bytes).send();
    let too_big = upload(vec![0u8; 2048]).await.unwrap();
    assert_eq!(too_big.status(), StatusCode::BAD_REQUEST);
    assert_eq!(too_big.json::<Value>().await.unwrap()["errors"][0]["field"], "file");
    let ok: Value = upload(b"jpeg bytes".to_vec()).await.unwrap().json().await.unwrap();
    let media = ok["id"].as_str().unwrap().to_string();
    let (status, body) =
        app.post(&district, &format!("/orders/{id}/actions"), json!({"action": "resolve", "result": "清运完毕", "attachments": [media]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let fetched = app.client.get(format!("{}/api/v1/media/{media}", app.base)).send().await.unwrap();
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), b"jpeg bytes");
}

async fn merging_applications_and_calendar(app: App) {
    let t0 = app.clock.load(Ordering::SeqCst);
    let district = app.login("district").await;
    let admin = app.login("admin").await;
    // Two reports of one problem 50 m apart within the hour: one incident, one order, two reports.
    let report = |lon: f64| json!({"source": "hotline_12345", "category": "env.noise", "lon": lon, "lat": 40.07, "region_code": "c1"});
    let (_, first) = app.post(&district, "/events", report(116.3200)).await;
    app.set_time(t0 + 30 * MINUTE);
    let (_, second) = app.post(&district, "/events", report(116.3206)).await;
    assert_eq!(second["merged"], true, "{second}");
    assert_eq!(first["incident"]["id"], second["incident"]["id"]);
    assert_eq!(second["order"]["id"], first["order"]["id"]);
    assert_eq!(second["order"]["report_count"], 2);
    // Far away: a new incident.
    let (_, third) = app.post(&district, "/events", report(116.35)).await;
    assert_ne!(third["incident"]["id"], first["incident"]["id"]);
    // A camera alarm below the rule's severity opens no order; a grid patrol's is proactive.
    let (_, camera) = app.post(&district, "/events", json!({"source": "camera_ai", "category": "safety.fire", "region_code": "c2", "severity": "minor"})).await;
    assert!(camera["order"].is_null(), "{camera}");
    // A complaint joining that incident opens the order the camera's report did not.
    let (_, complaint) = app.post(&district, "/events", json!({"source": "hotline_12345", "category": "safety.fire", "region_code": "c2"})).await;
    assert_eq!((complaint["merged"].as_bool(), &complaint["incident"]["id"]), (Some(true), &camera["incident"]["id"]), "{complaint}");
    assert_eq!(complaint["order"]["report_count"], 2, "{complaint}");
    assert_eq!(app.get(&district, &format!("/incidents/{}", camera["incident"]["id"])).await["order_id"], complaint["order"]["id"]);
    let (_, patrol) = app.post(&district, "/events", json!({"source": "grid_patrol", "category": "env.sanitation", "region_code": "c2"})).await;
    assert_eq!((patrol["order"]["proactive"].as_bool(), patrol["order"]["holder"]["code"].as_str()), (Some(true), Some("s")));
    let proactive = app.get(&district, "/orders?proactive=true").await;
    assert_eq!(proactive["items"].as_array().unwrap().len(), 1);
    // Periods take Beijing dates as well as instants.
    for (period, expected) in [("from=2026-11-23", 1), ("from=2026-11-24", 0), ("to=2026-11-23", 0), ("from=2026-11-23T08:00:00%2B08:00", 1)] {
        assert_eq!(app.get(&district, &format!("/orders?proactive=true&{period}")).await["items"].as_array().unwrap().len(), expected, "{period}");
    }

    // Routing overrides the taxonomy's default department.
    let (status, _) = app
        .call(reqwest::Method::PUT, Some(&admin), "/api/v1/routes", Some(json!({"category": "env.noise", "region_code": "s", "org_code": "dept.urban_mgmt"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    app.set_time(t0 + 3 * HOUR);
    let (_, routed) = app.post(&district, "/events", report(116.30)).await;
    assert_eq!(routed["order"]["suggested_org_code"], "dept.urban_mgmt");

    // Working-day deadlines follow the business calendar: Tuesday is declared a holiday.
    let (status, _) = app.call(reqwest::Method::PUT, Some(&admin), "/api/v1/calendar/2026-11-24", Some(json!({"kind": "holiday", "name": "测试假日"}))).await;
    assert_eq!(status, StatusCode::OK);
    app.set_time(t0);
    let (status, complex) = app.post(&district, "/orders", json!({"category": "build.illegal_construction", "urgency": "complex", "region_code": "c1"})).await;
    assert_eq!(status, StatusCode::CREATED, "{complex}");
    // Monday 09:00 + 15 working days, skipping Tuesday and the weekends: Tuesday 15 December.
    assert_eq!(complex["resolve_due_at"], format_rfc3339(parse_rfc3339("t", "2026-12-15T09:00:00+08:00").unwrap()));

    // A community applies for an order; the street approves; both are in the order's history.
    let secretary = app.login("secretary").await;
    let (status, application) = app
        .post(
            &secretary,
            "/applications",
            json!({"kind": "work_order", "title": "申请清理楼道堆物", "request": {"category": "safety.fire", "region_code": "c1"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{application}");
    let street = app.login("street").await;
    let (status, body) = app.post(&street, &format!("/applications/{}/decision", application["id"]), json!({"approve": false})).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("reason")));
    let (status, decided) = app.post(&street, &format!("/applications/{}/decision", application["id"]), json!({"approve": true, "reason": "同意"})).await;
    assert_eq!((status, decided["status"].as_str()), (StatusCode::OK, Some("approved")), "{decided}");
    let order_id = decided["result_id"].as_i64().unwrap();
    let history: Vec<String> =
        app.get(&street, &format!("/orders/{order_id}/history")).await.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    assert_eq!(history, ["applied", "approved", "created"]);
    let (status, _) = app.post(&street, &format!("/applications/{}/decision", application["id"]), json!({"approve": true})).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

/// Open311 GeoReport v2, from the specification (wiki.open311.org/GeoReport_v2).
async fn open311_georeport_v2(app: App) {
    let admin = app.login("admin").await;
    let open = |path: &str| app.client.get(format!("{}/open311/v2/{path}", app.base)).send();

    let discovery: Value = open("discovery.json").await.unwrap().json().await.unwrap();
    assert_eq!(discovery["endpoints"][0]["specification"], "http://wiki.open311.org/GeoReport_v2");
    let services: Value = open("services.json").await.unwrap().json().await.unwrap();
    let services = services.as_array().unwrap();
    assert_eq!(services.len(), 23);
    for field in ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"] {
        assert!(services[0].get(field).is_some(), "service lacks {field}");
    }
    let xml = open("services.xml").await.unwrap();
    assert!(xml.headers()["content-type"].to_str().unwrap().starts_with("text/xml"));
    let xml = xml.text().await.unwrap();
    assert!(xml.contains("<services><service><service_code>env.sanitation</service_code>"), "{xml}");
    let definition: Value = open("services/util.water.json").await.unwrap().json().await.unwrap();
    assert_eq!(definition["service_code"], "util.water");
    assert_eq!(definition["attributes"][0]["code"], "severity");
    let missing = open("services/nope.json").await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let errors: Value = missing.json().await.unwrap();
    assert_eq!(errors[0]["code"], 404);
    assert!(errors[0]["description"].is_string());

    // POST needs an API key.
    let post = |form: &[(&str, &str)], format: &str| {
        let body = serde_urlencoded::to_string(form).unwrap();
        app.client.post(format!("{}/open311/v2/requests.{format}", app.base)).header("content-type", "application/x-www-form-urlencoded").body(body).send()
    };
    let refused = post(&[("service_code", "env.noise"), ("lat", "40.07"), ("long", "116.32")], "json").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.json::<Value>().await.unwrap()[0]["code"], 403);
    let (status, key) = app.post(&admin, "/open311/keys", json!({"name": "test app"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let key = key["api_key"].as_str().unwrap().to_string();
    let no_location = post(&[("api_key", &key), ("service_code", "env.noise")], "json").await.unwrap();
    assert_eq!(no_location.status(), StatusCode::BAD_REQUEST);
    assert_eq!(no_location.json::<Value>().await.unwrap()[0]["code"], 400);
    let unknown = post(&[("api_key", &key), ("service_code", "nope"), ("lat", "40.07"), ("long", "116.32")], "xml").await.unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert!(unknown.text().await.unwrap().contains("<errors><error><code>400</code>"));

    let created = post(
        &[
            ("api_key", &key),
            ("service_code", "env.noise"),
            ("lat", "40.0701"),
            ("long", "116.3201"),
            ("description", "广场舞音响太吵"),
            ("first_name", "Li"),
            ("last_name", "Lei"),
            ("email", "li@example.org"),
            ("attribute[severity]", "major"),
        ],
        "json",
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let request_id = created[0]["service_request_id"].as_str().unwrap().to_string();
    assert!(created[0].get("service_notice").is_some());
    let by_address = post(&[("api_key", &key), ("service_code", "traffic.parking"), ("address_string", "北京市昌平区回龙观东社区3号楼")], "xml").await.unwrap();
    assert_eq!(by_address.status(), StatusCode::CREATED);
    let by_address = by_address.text().await.unwrap();
    assert!(by_address.contains("<service_requests><request><service_request_id>"), "{by_address}");

    let one: Value = open(&format!("requests/{request_id}.json")).await.unwrap().json().await.unwrap();
    let one = &one[0];
    assert_eq!(
        (one["service_request_id"].as_str(), one["status"].as_str(), one["service_code"].as_str()),
        (Some(request_id.as_str()), Some("open"), Some("env.noise"))
    );
    assert_eq!(one["address_id"], "c1");
    assert_eq!(one["lat"].as_f64(), Some(40.0701));
    assert_eq!(one["long"].as_f64(), Some(116.3201));
    for field in [
        "status_notes",
        "service_name",
        "description",
        "agency_responsible",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "media_url",
    ] {
        assert!(one.get(field).is_some(), "request lacks {field}");
    }
    let token: Value = open(&format!("tokens/{request_id}.json")).await.unwrap().json().await.unwrap();
    assert_eq!(token[0]["service_request_id"], request_id.as_str());
    let listed: Value = open("requests.json?service_code=env.noise&status=open").await.unwrap().json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let listed: Value = open(&format!("requests.json?service_request_id={request_id}")).await.unwrap().json().await.unwrap();
    assert_eq!(listed[0]["service_request_id"], request_id.as_str());
    let closed: Value = open("requests.json?status=closed").await.unwrap().json().await.unwrap();
    assert!(closed.as_array().unwrap().is_empty());
    let xml = open("requests.xml").await.unwrap().text().await.unwrap();
    assert_eq!(xml.matches("<request>").count(), 2, "{xml}");
    let bad = open("requests.json?status=pending").await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(open("requests/999999.json").await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(open("services.yaml").await.unwrap().status(), StatusCode::NOT_FOUND);

    // Once the order is resolved, the request shows closed with the result as its notes.
    let order_id = app.get(&admin, "/orders?source=open311&category=env.noise").await["items"][0]["id"].as_i64().unwrap();
    for body in [json!({"action": "accept"}), json!({"action": "resolve", "result": "已劝导降低音量"})] {
        app.act(&admin, order_id, body).await;
    }
    let one: Value = open(&format!("requests/{request_id}.json")).await.unwrap().json().await.unwrap();
    assert_eq!((one[0]["status"].as_str(), one[0]["status_notes"].as_str()), (Some("closed"), Some("已劝导降低音量")));
}

/// Webhooks arrive signed, in order; the WebSocket stream carries each change as it commits,
/// without personal data for roles that may not see it.
async fn webhooks_and_live_stream(app: App) {
    use futures_util::StreamExt;
    let admin = app.login("admin").await;
    let district = app.login("district").await;

    // A receiver that records what it is sent.
    let (sent, mut received) = tokio::sync::mpsc::unbounded_channel::<(axum::http::HeaderMap, String)>();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let sent = sent.clone();
            async move {
                let _ = sent.send((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let secret = "a-webhook-secret-of-some-length";
    let (status, hook) = app.post(&admin, "/webhooks", json!({"url": hook_url, "secret": secret, "topics": ["order."]})).await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let (status, _) = app.post(&admin, "/webhooks", json!({"url": "ftp://x", "secret": secret})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The stream, authenticated as a browser would: the token in the query.
    let ws_url = format!("{}/api/v1/stream?topics=order.&access_token={district}", app.base.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url.clone()).await.unwrap();
    let hello = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await.expect("a hello within 10 s").unwrap().unwrap();
    let hello: Value = serde_json::from_str(hello.to_text().unwrap()).unwrap();
    assert_eq!(hello["topic"], "stream.hello", "{hello}");
    let head = hello["payload"]["head"].as_i64().unwrap();

    let (_, outcome) = app
        .post(
            &district,
            "/events",
            json!({"source": "hotline_12345", "category": "env.noise", "region_code": "c1", "reporter_name": "王芳", "reporter_phone": "13800001111"}),
        )
        .await;
    let order_id = outcome["order"]["id"].as_i64().unwrap();

    let frame = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await.expect("a frame within 10 s").unwrap().unwrap();
    let message: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
    assert_eq!(message["topic"], "order.created");
    assert_eq!(message["payload"]["order"]["id"], order_id);
    assert!(message["payload"]["order"]["requester"].get("phone").is_none(), "{message}");

    // A screen that lost its connection passes the last id it saw and gets what it missed.
    let (mut again, _) = tokio_tungstenite::connect_async(format!("{ws_url}&after={head}")).await.unwrap();
    let mut replayed = Vec::new();
    while replayed.len() < 2 {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), again.next()).await.expect("a replayed frame within 10 s").unwrap().unwrap();
        replayed.push(serde_json::from_str::<Value>(frame.to_text().unwrap()).unwrap());
    }
    assert_eq!((replayed[0]["topic"].as_str(), replayed[0]["payload"]["head"].as_i64()), (Some("stream.hello"), Some(head)));
    assert_eq!((replayed[1]["id"].clone(), replayed[1]["topic"].clone()), (message["id"].clone(), message["topic"].clone()));
    match tokio_tungstenite::connect_async(format!("{ws_url}&after=-1")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 400),
        other => panic!("a negative after must be refused: {:?}", other.map(|(_, r)| r.status())),
    }

    let (headers, body) = tokio::time::timeout(std::time::Duration::from_secs(15), received.recv()).await.expect("a delivery within 15 s").unwrap();
    assert_eq!(headers["x-linli-topic"], "order.created");
    let timestamp = headers["x-linli-timestamp"].to_str().unwrap();
    assert_eq!(headers["x-linli-signature"].to_str().unwrap(), linli_api::workers::signature(secret, timestamp, body.as_bytes()));
    let delivered: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(delivered["payload"]["order"]["id"], order_id);
    // Webhooks are for integrations the administrator trusts: they get the whole record.
    assert_eq!(delivered["payload"]["order"]["requester"]["phone"], "13800001111");
}

/// The cockpit counts today's orders, events and scenes per area; residents list the orders they
/// asked for; an action may carry where the actor stands.
async fn cockpit_counts_and_residents_follow_their_reports(app: App) {
    let (leader, district, street, resident) = (app.login("leader").await, app.login("district").await, app.login("street").await, app.login("resident").await);
    let (status, mine) =
        app.post(&resident, "/events", json!({"category": "env.noise", "region_code": "c1", "lon": 116.32, "lat": 40.07, "title": "楼下施工噪声"})).await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    let (status, _) = app
        .post(
            &district,
            "/events",
            json!({"source": "camera_ai", "category": "safety.public_order", "region_code": "c2", "severity": "minor", "attributes": {"alarm_type": "crowd"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) =
        app.post(&street, "/events", json!({"source": "grid_patrol", "category": "build.group_rental", "region_code": "c1", "title": "疑似群租"})).await;
    assert_eq!(status, StatusCode::CREATED);

    let cockpit = app.get(&leader, "/cockpit").await;
    assert_eq!(cockpit["region"]["code"], "d", "{cockpit}");
    assert_eq!((cockpit["events_today"].as_i64(), cockpit["orders_today"].as_i64(), cockpit["orders_open"].as_i64()), (Some(3), Some(2), Some(2)), "{cockpit}");
    let scenes: Vec<(String, i64)> =
        cockpit["scenes"].as_array().unwrap().iter().map(|s| (s["scene"].as_str().unwrap().to_string(), s["count"].as_i64().unwrap())).collect();
    assert_eq!(scenes, vec![("crowd".to_string(), 1), ("group_rental".to_string(), 1)]);
    assert_eq!(cockpit["areas"][0]["code"], "s");
    assert_eq!(cockpit["areas"][0]["events_today"], 3);
    assert_eq!(cockpit["trend"].as_array().unwrap().iter().map(|d| d["count"].as_i64().unwrap()).sum::<i64>(), 2);
    assert_eq!(cockpit["trend"][0]["day"], "2026-11-23");
    let street_view = app.get(&leader, "/cockpit?region=s").await;
    let areas: Vec<(String, i64, i64)> = street_view["areas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["code"].as_str().unwrap().to_string(), a["events_today"].as_i64().unwrap(), a["orders_open"].as_i64().unwrap()))
        .collect();
    assert_eq!(areas, vec![("c1".to_string(), 2, 2), ("c2".to_string(), 1, 0)]);
    let (status, _) = app.call(reqwest::Method::GET, Some(&leader), "/api/v1/cockpit?region=nowhere", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.call(reqwest::Method::GET, Some(&resident), "/api/v1/cockpit", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The resident sees their own order, and only it.
    let order_id = mine["order"]["id"].as_i64().unwrap();
    let listed = app.get(&resident, "/orders").await;
    let ids: Vec<i64> = listed["items"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![order_id]);
    assert_eq!(app.get(&district, "/orders").await["items"].as_array().unwrap().len(), 2);

    // Where the actor stood is kept with the action, with the distance to the place.
    let order = app.act(&district, order_id, json!({"action": "comment", "note": "到场查看", "lon": 116.321, "lat": 40.07})).await;
    let history = app.get(&district, &format!("/orders/{order_id}/history")).await;
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["data"]["position"], json!({"lon": 116.321, "lat": 40.07}), "{last}");
    assert!((80.0..90.0).contains(&last["data"]["distance_m"].as_f64().unwrap()), "{last}");
    let (status, body) =
        app.post(&district, &format!("/orders/{order_id}/actions"), json!({"action": "comment", "note": "x", "lon": 116.3, "version": order["version"]})).await;
    assert_eq!((status, body["errors"][0]["field"].as_str().or(body["message"].as_str()).is_some()), (StatusCode::BAD_REQUEST, true), "{body}");

    // The resident follows their own orders live, and nobody else's, without personal data.
    use futures_util::StreamExt;
    let ws_url = format!("{}/api/v1/stream?topics=order.,event.&access_token={resident}", app.base.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    async fn next<S: futures_util::Stream<Item = Result<tokio_tungstenite::tungstenite::Message, tokio_tungstenite::tungstenite::Error>> + Unpin>(
        socket: &mut S,
    ) -> Value {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await.expect("a frame within 10 s").unwrap().unwrap();
        serde_json::from_str(frame.to_text().unwrap()).unwrap()
    }
    assert_eq!(next(&mut socket).await["topic"], "stream.hello");
    let other = app.get(&district, "/orders").await["items"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).find(|&id| id != order_id).unwrap();
    app.act(&district, other, json!({"action": "comment", "note": "别人的工单"})).await;
    let (status, _) =
        app.post(&district, "/events", json!({"source": "hotline_12345", "category": "env.sanitation", "region_code": "c2", "title": "别处"})).await;
    assert_eq!(status, StatusCode::CREATED);
    app.act(&district, order_id, json!({"action": "comment", "note": "已联系施工方"})).await;
    let message = next(&mut socket).await;
    assert_eq!((message["topic"].as_str(), message["payload"]["order"]["id"].as_i64()), (Some("order.comment"), Some(order_id)), "{message}");
    assert!(message["payload"]["order"]["requester"].get("name").is_none(), "{message}");
}
