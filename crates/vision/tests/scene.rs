//! The scene rules on generated scenes: each rule raises what it should, once, and nothing for
//! the look-alikes (a car driving through a no-parking zone, a person walking along a fence).

use linli_vision::scene::{parse_detections, Detection, SceneConfig, SceneEvent, SceneRules, TrackerConfig};

const FPS: f64 = 10.0;

fn boxed(class: &str, x: f64, y: f64, w: f64, h: f64) -> Detection {
    // (x, y) is the foot: the middle of the bottom edge.
    Detection { class: class.into(), score: 0.9, bbox: [x - w / 2.0, y - h, x + w / 2.0, y] }
}

/// Runs `frames` frames; `at(frame)` gives that frame's detections.
fn run(config: &str, frames: usize, at: impl Fn(usize) -> Vec<Detection>) -> Vec<SceneEvent> {
    let config: SceneConfig = serde_json::from_str(config).unwrap();
    let mut rules = SceneRules::new(config, TrackerConfig::default()).unwrap();
    (0..frames).flat_map(|n| rules.process(n as f64 / FPS, &at(n))).collect()
}

const PARKING: &str = r#"{"rules": [{"name": "no parking at gate 2", "kind": "dwell", "classes": ["car", "truck"],
    "zone": [[100, 300], [500, 300], [500, 500], [100, 500]], "min_seconds": 30}],
    "filters": {"car": {"min_score": 0.4, "min_area": 400}}}"#;

#[test]
fn a_car_parked_in_the_zone_is_reported_once_a_car_driving_through_is_not() {
    // Parked from 5 s for two minutes, lost for two seconds in the middle (a bus in front).
    let parked = run(PARKING, 1500, |n| {
        let t = n as f64 / FPS;
        if (5.0..125.0).contains(&t) && !(60.0..62.0).contains(&t) {
            vec![boxed("car", 300.0 + (n % 3) as f64, 420.0, 120.0, 60.0)]
        } else {
            vec![]
        }
    });
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert!((parked[0].t - 35.0).abs() < 0.2, "after 30 s: {}", parked[0].t);
    assert_eq!(parked[0].kind, "dwell");
    // Driving through at 5 m/s (50 px/s): in the zone for eight seconds, never still.
    let through = run(PARKING, 300, |n| vec![boxed("car", 50.0 + 5.0 * n as f64, 420.0, 120.0, 60.0)]);
    assert!(through.is_empty(), "{through:?}");
    // A person standing there, and a car too small to be one (filtered), raise nothing.
    let others = run(PARKING, 500, |_| vec![boxed("person", 300.0, 420.0, 20.0, 60.0), boxed("car", 200.0, 420.0, 10.0, 10.0)]);
    assert!(others.is_empty(), "{others:?}");
    // Two cars parked side by side: two events.
    let two = run(PARKING, 400, |_| vec![boxed("car", 200.0, 420.0, 120.0, 60.0), boxed("truck", 400.0, 480.0, 120.0, 60.0)]);
    assert_eq!(two.len(), 2, "{two:?}");
}

#[test]
fn fire_lane_occupation_is_a_dwell_zone_too() {
    let config =
        r#"{"rules": [{"name": "fire lane B3", "kind": "dwell", "classes": ["car"], "zone": [[0, 0], [50, 0], [50, 400], [0, 400]], "min_seconds": 10}]}"#;
    // Stops in the lane at 2 s, leaves at 20 s, another stops at 40 s for 5 s only.
    let events = run(config, 600, |n| {
        let t = n as f64 / FPS;
        match t {
            t if (2.0..20.0).contains(&t) => vec![boxed("car", 25.0, 200.0, 40.0, 80.0)],
            t if (40.0..45.0).contains(&t) => vec![boxed("car", 25.0, 300.0, 40.0, 80.0)],
            _ => vec![],
        }
    });
    assert_eq!(events.iter().map(|e| (e.rule.as_str(), e.t.round())).collect::<Vec<_>>(), [("fire lane B3", 12.0)]);
}

#[test]
fn lines_are_crossed_in_their_direction_and_zones_entered() {
    let config = r#"{"rules": [
        {"name": "fence north", "kind": "line", "classes": ["person"], "from": [0, 200], "to": [600, 200], "direction": "right_to_left"},
        {"name": "yard", "kind": "intrusion", "classes": ["person"], "zone": [[0, 0], [600, 0], [600, 200], [0, 200]]}
    ]}"#;
    // Walking from y 400 up to y 50 (north, across the fence), then back down.
    let events = run(config, 200, |n| {
        let y = if n < 100 { 400.0 - 3.5 * n as f64 } else { 50.0 + 3.5 * (n - 100) as f64 };
        vec![boxed("person", 300.0, y, 30.0, 80.0)]
    });
    let mut seen: Vec<(&str, &str)> = events.iter().map(|e| (e.rule.as_str(), e.kind)).collect();
    // The yard's edge is the fence: the line counts a step later, past its dead band.
    seen.sort();
    // The line from (0,200) to (600,200) has y > 200 on its right (image y grows down): going
    // north is right to left, once; coming back is the other way and not wanted.
    assert_eq!(seen, [("fence north", "line"), ("yard", "intrusion")], "{events:?}");
    // Walking along the yard's edge, in and out by a pixel or two, is one intrusion.
    let edge = run(config, 300, |n| vec![boxed("person", 300.0, 200.0 + if n % 2 == 0 { 1.5 } else { -1.5 }, 30.0, 80.0)]);
    assert_eq!(edge.iter().filter(|e| e.kind == "intrusion").count(), 1, "{edge:?}");
    // Walking along the fence, never crossing; and crossing beyond the segment's end.
    let along = run(config, 200, |n| vec![boxed("person", 3.0 * n as f64, 260.0, 30.0, 80.0), boxed("person", 700.0, 400.0 - 3.0 * n as f64, 30.0, 80.0)]);
    assert!(along.is_empty(), "{along:?}");
}

#[test]
fn a_crowd_is_reported_after_it_lasts_and_again_only_after_it_thinned() {
    let config = r#"{"rules": [{"name": "square", "kind": "crowd", "classes": ["person"], "zone": [[0, 0], [1000, 0], [1000, 1000], [0, 1000]], "more_than": 5, "min_seconds": 20}]}"#;
    // People standing 60 px apart: 8 from 10 s to 50 s, then 3, then 8 again from 80 s to 90 s.
    let events = run(config, 1200, |n| {
        let t = n as f64 / FPS;
        let count = if (10.0..50.0).contains(&t) || (80.0..90.0).contains(&t) { 8 } else { 3 };
        (0..count).map(|i| boxed("person", 100.0 + 60.0 * i as f64, 500.0, 30.0, 80.0)).collect()
    });
    assert_eq!(events.len(), 1, "the second gathering lasts under 20 s: {events:?}");
    assert!((events[0].t - 30.0).abs() < 0.2);
    assert_eq!(events[0].tracks.len(), 8);
}

#[test]
fn detections_files_are_read_and_bad_lines_named() {
    let text = "{\"t\": 0.0, \"detections\": [{\"class\": \"car\", \"score\": 0.8, \"box\": [1, 2, 30, 40]}]}\n\n{\"t\": 0.1}\n";
    let frames = parse_detections(text).unwrap();
    assert_eq!((frames.len(), frames[0].detections[0].foot()), (2, [15.5, 40.0]));
    for (bad, expected) in [
        ("{\"t\": 1}\n{\"t\": 0.5}", "line 2: t 0.5 comes before"),
        ("{\"t\": 0, \"detections\": [{\"class\": \"car\", \"score\": 2, \"box\": [0, 0, 1, 1]}]}", "line 1: score 2"),
        ("{\"t\": 0, \"detections\": [{\"class\": \"car\", \"score\": 0.5, \"box\": [5, 0, 1, 1]}]}", "line 1: box"),
        ("not json", "line 1:"),
    ] {
        let error = parse_detections(bad).unwrap_err();
        assert!(error.starts_with(expected), "{bad}: {error}");
    }
    let bad_rules = [
        r#"{"rules": [{"name": "z", "kind": "intrusion", "zone": [[0, 0], [1, 1]]}]}"#,
        r#"{"rules": [{"name": "l", "kind": "line", "from": [1, 1], "to": [1, 1]}]}"#,
        r#"{"rules": [{"name": "d", "kind": "dwell", "zone": [[0, 0], [1, 0], [1, 1]], "min_seconds": -1}]}"#,
    ];
    for text in bad_rules {
        let config: SceneConfig = serde_json::from_str(text).unwrap();
        assert!(SceneRules::new(config, TrackerConfig::default()).is_err(), "{text}");
    }
}
