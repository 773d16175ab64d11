//! MQTT load generator for the ingest benchmark (bench/ingest.sh), run as its own process.
//!
//!   mqtt_load ceiling URL MESSAGES
//!       the broker's own ceiling: publishes MESSAGES (QoS 1) to a private topic while a plain
//!       subscriber (QoS 1) in this process counts them; prints messages/s end to end.
//!   mqtt_load publish URL MESSAGES RATE DEVICES [FULL_EVERY]
//!       publishes MESSAGES telemetry messages (QoS 1) round-robin over the device codes in the
//!       file DEVICES (smart bins) at RATE messages/s (0: as fast as the broker takes them). Each
//!       carries `ts` = its publish time. With FULL_EVERY = n, every n-th message reports a full
//!       bin (fillingLevel 0.95, which trips the bin_full rule; the device's next message
//!       re-arms it); otherwise bins report 0.3 to 0.6.
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

fn options(url: &str, id: &str) -> MqttOptions {
    let rest = url.trim_start_matches("mqtt://");
    let (host, port) = rest.split_once(':').map(|(h, p)| (h.to_string(), p.parse().expect("port"))).unwrap_or((rest.to_string(), 1883));
    let mut options = MqttOptions::new(id, host, port);
    options.set_keep_alive(Duration::from_secs(30)).set_inflight(1_000).set_max_packet_size(64 * 1024, 64 * 1024);
    options
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Drives a client's event loop until `done` publishes are acknowledged by the broker.
async fn run_publisher(mut eventloop: rumqttc::EventLoop, messages: u64) {
    let mut acked = 0;
    while acked < messages {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
            Ok(_) => {}
            Err(error) => panic!("publisher connection failed: {error}"),
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| usage());
    match arg(1).as_str() {
        "ceiling" => ceiling(&arg(2), arg(3).parse().unwrap_or_else(|_| usage())).await,
        "publish" => {
            let devices: Vec<String> =
                std::fs::read_to_string(arg(5)).expect("devices file").lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
            assert!(!devices.is_empty(), "no devices in the file");
            let full_every = args.get(6).map(|n| n.parse().expect("FULL_EVERY")).unwrap_or(0);
            publish(&arg(2), arg(3).parse().unwrap_or_else(|_| usage()), arg(4).parse().unwrap_or_else(|_| usage()), &devices, full_every).await
        }
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: mqtt_load ceiling URL MESSAGES | mqtt_load publish URL MESSAGES RATE DEVICES_FILE [FULL_EVERY]");
    std::process::exit(2)
}

async fn ceiling(url: &str, messages: u64) {
    let topic = format!("linli-bench/ceiling/{}", std::process::id());
    let (subscriber, mut sub_loop) = AsyncClient::new(options(url, &format!("ceiling-sub-{}", std::process::id())), 10_000);
    subscriber.subscribe(&topic, QoS::AtLeastOnce).await.unwrap();
    // Wait for the subscription before publishing.
    loop {
        if let Ok(Event::Incoming(Packet::SubAck(_))) = sub_loop.poll().await {
            break;
        }
    }
    let counter = tokio::spawn(async move {
        let mut received = 0u64;
        let mut first = None;
        while received < messages {
            if let Ok(Event::Incoming(Packet::Publish(_))) = sub_loop.poll().await {
                first.get_or_insert_with(Instant::now);
                received += 1;
            }
        }
        first.map(|f| f.elapsed()).unwrap_or_default()
    });
    let (publisher, pub_loop) = AsyncClient::new(options(url, &format!("ceiling-pub-{}", std::process::id())), 10_000);
    let driver = tokio::spawn(run_publisher(pub_loop, messages));
    let started = Instant::now();
    let payload = br#"{"values": {"fillingLevel": 0.42}}"#.to_vec();
    for _ in 0..messages {
        publisher.publish(&topic, QoS::AtLeastOnce, false, payload.clone()).await.unwrap();
    }
    driver.await.unwrap();
    let published = started.elapsed();
    counter.await.unwrap();
    let total = started.elapsed();
    println!(
        "ceiling: {messages} messages published in {:.2} s ({:.0}/s), received by a plain subscriber in {:.2} s ({:.0}/s)",
        published.as_secs_f64(),
        messages as f64 / published.as_secs_f64(),
        total.as_secs_f64(),
        messages as f64 / total.as_secs_f64()
    );
}

async fn publish(url: &str, messages: u64, rate: u64, devices: &[String], full_every: u64) {
    let (client, eventloop) = AsyncClient::new(options(url, &format!("load-{}", std::process::id())), 10_000);
    let driver = tokio::spawn(run_publisher(eventloop, messages));
    let started = Instant::now();
    let mut last_full: std::collections::HashSet<usize> = Default::default();
    for i in 0..messages {
        if rate > 0 {
            let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
            let now = Instant::now();
            if due > now {
                tokio::time::sleep(due - now).await;
            }
        }
        let device = (i as usize) % devices.len();
        let full = full_every > 0 && i % full_every == 0 && !last_full.contains(&device);
        let level = if full {
            last_full.insert(device);
            0.95
        } else {
            last_full.remove(&device);
            0.3 + (i % 30) as f64 / 100.0
        };
        let payload = serde_json::json!({"ts": now_ms(), "values": {"fillingLevel": level}}).to_string();
        client.publish(format!("linli/v1/devices/{}/telemetry", devices[device]), QoS::AtLeastOnce, false, payload.into_bytes()).await.unwrap();
    }
    driver.await.unwrap();
    let elapsed = started.elapsed();
    println!("published {messages} messages in {:.2} s ({:.0}/s)", elapsed.as_secs_f64(), messages as f64 / elapsed.as_secs_f64());
}
