//! Load generator for the work-order lifecycle over real HTTP: C concurrent clients each loop
//! create → dispatch → accept → resolve against a server on an embedded SQLite database (or the
//! PostgreSQL URL in `BENCH_DATABASE_URL`), for D seconds; prints operations per second and the
//! p50/p99 latency of each operation.
//!
//! cargo run --release -p linli-api --example lifecycle_bench -- [CLIENTS] [SECONDS]
use std::sync::Arc;
use std::time::{Duration, Instant};

use linli_api::{provision_user, AppState, UserBody};
use linli_store::{Jurisdiction, SqlStore, Store};
use serde_json::{json, Value};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let clients: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let store = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => SqlStore::connect_postgres(&url, Some(&format!("linli_bench_{}", std::process::id())), 16).await.unwrap(),
        Err(_) => SqlStore::open_sqlite(&dir.path().join("linli.db")).await.unwrap(),
    };
    let backend = store.backend();
    let store = Arc::new(store);
    let regions = linli_import::parse(
        linli_import::ImportKind::Regions,
        linli_import::Format::Csv,
        "code,level,name,parent_code,lon,lat\nd,district,区,,116.23,40.22\ns,street,街道,d,116.33,40.07\nc1,community,社区,s,116.32,40.07\n".as_bytes(),
    )
    .unwrap();
    store.import(&Jurisdiction::everywhere(), &regions).await.unwrap();
    let orgs = linli_import::parse(
        linli_import::ImportKind::Organisations,
        linli_import::Format::Csv,
        "code,name,kind,region_code\ndept.water,水务局,department,d\n".as_bytes(),
    )
    .unwrap();
    store.import(&Jurisdiction::everywhere(), &orgs).await.unwrap();
    for (username, role, region, org) in [("district", "district_dispatcher", Some("d"), None), ("water", "department_handler", None, Some("dept.water"))] {
        let body = UserBody {
            username: username.into(),
            password: "bench-password".into(),
            role: role.into(),
            display_name: None,
            region_code: region.map(str::to_string),
            org_code: org.map(str::to_string),
        };
        provision_user(store.as_ref(), body).await.unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    let mut state = AppState::new(store.clone());
    state.media_dir = Arc::new(dir.path().join("media"));
    tokio::spawn(linli_api::serve(listener, state, std::future::pending()));
    let client = reqwest::Client::new();
    let login = |user: &'static str| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let reply: Value = client
                .post(format!("{base}/auth/login"))
                .json(&json!({"username": user, "password": "bench-password"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            reply["token"].as_str().unwrap().to_string()
        }
    };
    let (district, water) = (login("district").await, login("water").await);

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, base, district, water) = (client.clone(), base.clone(), district.clone(), water.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies: [Vec<u64>; 4] = Default::default();
            let timed = |i: usize, started: Instant, latencies: &mut [Vec<u64>; 4]| latencies[i].push(started.elapsed().as_micros() as u64);
            while Instant::now() < deadline {
                let t = Instant::now();
                let order: Value = client
                    .post(format!("{base}/orders"))
                    .bearer_auth(&district)
                    .json(&json!({"category": "util.water", "region_code": "c1", "title": "停水"}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                timed(0, t, &mut latencies);
                let id = order["id"].as_i64().expect("order created");
                let steps = [
                    (1, &district, json!({"action": "dispatch", "to": {"kind": "organisation", "code": "dept.water"}})),
                    (2, &water, json!({"action": "accept"})),
                    (3, &water, json!({"action": "resolve", "result": "修复"})),
                ];
                for (i, token, body) in steps {
                    let t = Instant::now();
                    let response = client.post(format!("{base}/orders/{id}/actions")).bearer_auth(token).json(&body).send().await.unwrap();
                    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
                    timed(i, t, &mut latencies);
                }
            }
            latencies
        }));
    }
    let mut all: [Vec<u64>; 4] = Default::default();
    for task in tasks {
        for (slot, mut values) in all.iter_mut().zip(task.await.unwrap()) {
            slot.append(&mut values);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total: usize = all.iter().map(Vec::len).sum();
    println!("backend {backend}, {clients} clients, {elapsed:.1} s: {total} operations, {:.0} operations/s", total as f64 / elapsed);
    for (name, values) in ["create", "dispatch", "accept", "resolve"].iter().zip(all.iter_mut()) {
        values.sort_unstable();
        let pct = |p: f64| values[((values.len() as f64 * p) as usize).min(values.len() - 1)] as f64 / 1000.0;
        println!("  {name:<9} n={:<7} p50 {:>6.2} ms  p99 {:>6.2} ms", values.len(), pct(0.5), pct(0.99));
    }
}
