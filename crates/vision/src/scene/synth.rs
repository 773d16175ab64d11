//! Synthetic tracked-object scenes with known truth, for scoring the scene rules: cars that park
//! (long enough or not) or drive through, people who cross a fence line either way and walk into a
//! yard, groups that gather (long enough or not); with jittered boxes, missed detections, parked
//! cars hidden for a moment, and stray detections.

use super::{Detection, FrameDetections, SceneConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const FPS: f64 = 10.0;
/// Seconds a scene lasts.
pub const LENGTH_S: f64 = 180.0;

/// The rules every scene is judged by (a 960×540 camera).
pub fn scene_config() -> SceneConfig {
    serde_json::from_str(
        r#"{"rules": [
            {"name": "no parking", "kind": "dwell", "classes": ["car"], "zone": [[0, 330], [460, 330], [460, 540], [0, 540]], "min_seconds": 30},
            {"name": "fence", "kind": "line", "classes": ["person"], "from": [500, 270], "to": [960, 270], "direction": "right_to_left"},
            {"name": "yard", "kind": "intrusion", "classes": ["person"], "zone": [[600, 0], [960, 0], [960, 200], [600, 200]]},
            {"name": "square", "kind": "crowd", "classes": ["person"], "zone": [[0, 0], [460, 0], [460, 300], [0, 300]], "more_than": 5, "min_seconds": 20}
        ],
        "filters": {"car": {"min_area": 600}}}"#,
    )
    .expect("the scene rules parse")
}

/// An event a scene must raise: the rule's name and the time it should come.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedEvent {
    pub rule: &'static str,
    pub t: f64,
}

/// Something moving: its foot at a time, or `None` while it is not there.
struct Actor {
    class: &'static str,
    size: (f64, f64),
    path: Box<dyn Fn(f64) -> Option<[f64; 2]>>,
}

pub struct SceneClip {
    pub frames: Vec<FrameDetections>,
    pub expected: Vec<ExpectedEvent>,
}

impl SceneClip {
    pub fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut actors: Vec<Actor> = Vec::new();
        let mut expected = Vec::new();
        // Cars: park in the zone (for 5–90 s), or drive through along the road.
        // Parking bays 100 px apart in two rows, each used once a scene.
        let mut bays: Vec<(f64, f64)> = (0..4).flat_map(|i| [(60.0 + 100.0 * i as f64, 400.0), (60.0 + 100.0 * i as f64, 520.0)]).collect();
        for _ in 0..rng.gen_range(2..6) {
            let start = rng.gen_range(0.0..LENGTH_S - 20.0);
            if rng.gen_bool(0.6) && !bays.is_empty() {
                let (x, y) = bays.swap_remove(rng.gen_range(0..bays.len()));
                // Clear of the 30 s limit either way: a stay of 30.1 s is a coin toss.
                let stay = if rng.gen_bool(0.5) { rng.gen_range(5.0..25.0) } else { rng.gen_range(35.0..90.0) };
                let hidden_from = rng.gen_bool(0.3).then(|| rng.gen_range(start..start + stay));
                if stay >= 35.0 && start + 30.0 < LENGTH_S {
                    expected.push(ExpectedEvent { rule: "no parking", t: start + 30.0 });
                }
                actors.push(Actor {
                    class: "car",
                    size: (90.0, 50.0),
                    path: Box::new(move |t| {
                        let hidden = hidden_from.is_some_and(|h| (h..h + 1.5).contains(&t));
                        ((start..start + stay).contains(&t) && !hidden).then_some([x, y])
                    }),
                });
            } else {
                let (y, speed) = (rng.gen_range(380.0..530.0), rng.gen_range(40.0..120.0));
                actors.push(Actor { class: "car", size: (90.0, 50.0), path: Box::new(move |t| (t >= start).then_some([(t - start) * speed - 100.0, y])) });
            }
        }
        // People walking north or south across the fence (y 270, x ≥ 500); going north they
        // cross it right to left, and those east of x 600 walk on into the yard.
        for _ in 0..rng.gen_range(2..7) {
            let (start, x, speed) = (rng.gen_range(0.0..LENGTH_S - 30.0), rng.gen_range(520.0..940.0), rng.gen_range(20.0..45.0));
            let north = rng.gen_bool(0.5);
            let (from, to) = if north { (480.0, 60.0) } else { (60.0, 480.0) };
            let crossing = start + (from - 270.0f64).abs() / speed;
            if north {
                expected.push(ExpectedEvent { rule: "fence", t: crossing });
                if x >= 600.0 {
                    expected.push(ExpectedEvent { rule: "yard", t: start + (from - 200.0) / speed });
                }
            } else if x >= 600.0 {
                // Starting inside the yard counts as entering it when first seen.
                expected.push(ExpectedEvent { rule: "yard", t: start });
            }
            let length = (to - from).abs() / speed;
            actors.push(Actor {
                class: "person",
                size: (30.0, 80.0),
                path: Box::new(move |t| (start..start + length).contains(&t).then(|| [x, from + (to - from) * (t - start) / length])),
            });
        }
        // A group gathering on the square: 3–9 people for 10–40 s.
        if rng.gen_bool(0.7) {
            let stay = if rng.gen_bool(0.5) { rng.gen_range(8.0..17.0) } else { rng.gen_range(23.0..40.0) };
            let (start, people) = (rng.gen_range(0.0..LENGTH_S - 45.0), rng.gen_range(3..10));
            if people > 5 && stay >= 22.0 {
                expected.push(ExpectedEvent { rule: "square", t: start + 20.0 });
            }
            for i in 0..people {
                let spot = [40.0 + 45.0 * i as f64, rng.gen_range(120.0..290.0)];
                actors.push(Actor { class: "person", size: (30.0, 80.0), path: Box::new(move |t| (start..start + stay).contains(&t).then_some(spot)) });
            }
        }
        let frames = (0..(LENGTH_S * FPS) as usize)
            .map(|n| {
                let t = n as f64 / FPS;
                let mut detections = Vec::new();
                for (a, [x, y]) in actors.iter().filter_map(|a| (a.path)(t).map(|foot| (a, foot))) {
                    // One sighting in twelve is missed; boxes jitter by a few pixels.
                    if rng.gen_bool(0.92) {
                        let (jx, jy) = (rng.gen_range(-2.0..2.0), rng.gen_range(-2.0..2.0));
                        let (w, h) = a.size;
                        detections.push(Detection {
                            class: a.class.into(),
                            score: rng.gen_range(0.45..0.98),
                            bbox: [x - w / 2.0 + jx, y - h + jy, x + w / 2.0 + jx, y + jy],
                        });
                    }
                }
                // Stray detections: weak people anywhere, now and then a confident car for a frame.
                if rng.gen_bool(0.1) {
                    let (x, y) = (rng.gen_range(0.0..960.0), rng.gen_range(80.0..540.0));
                    detections.push(Detection { class: "person".into(), score: rng.gen_range(0.1..0.4), bbox: [x - 15.0, y - 80.0, x + 15.0, y] });
                }
                if rng.gen_bool(0.02) {
                    let (x, y) = (rng.gen_range(0.0..960.0), rng.gen_range(330.0..540.0));
                    detections.push(Detection { class: "car".into(), score: 0.6, bbox: [x - 45.0, y - 50.0, x + 45.0, y] });
                }
                FrameDetections { t, detections }
            })
            .collect();
        expected.sort_by(|a, b| a.t.total_cmp(&b.t));
        Self { frames, expected }
    }
}
