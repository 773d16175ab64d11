//! `linli vision`: thrown-object detection on a video file, synthetic clips, and their scoring.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use linli_vision::detect::{Backend, DetectorConfig};
use linli_vision::eval::Score;
use linli_vision::scene::{parse_detections, FrameDetections, SceneConfig, SceneRules, TrackerConfig};
use linli_vision::synth::{Clip, ClipOptions, Truth};
use linli_vision::video::{Mp4Writer, Y4mWriter};
use linli_vision::{detect_throws, open_source, open_video, Calibration, Frame, ThrowDetector, ThrowEvent};

#[derive(Subcommand)]
pub enum VisionCommand {
    /// Detect objects thrown from height in a video (Y4M or H.264 MP4) and trace each to its
    /// floor and window column; prints one JSON object per event per line.
    Throw {
        /// The video file (.y4m, or .mp4 with H.264), or a live rtsp:// stream.
        #[arg(long)]
        video: PathBuf,
        /// The facade calibration: {"facade": [[x,y] ×4: top-left, top-right, bottom-right,
        /// bottom-left], "floors": N, "columns": M}.
        #[arg(long)]
        calib: PathBuf,
    },
    /// Track per-frame detections (JSON lines: {"t": s, "detections": [{"class", "score", "box":
    /// [x1,y1,x2,y2]}]}) and run a camera's scene rules over them; prints one JSON event a line.
    Scene {
        /// The detections file (JSON lines), e.g. from an edge device's detector.
        #[arg(long)]
        detections: PathBuf,
        /// The rules: {"rules": [{"name", "kind": "dwell"|"line"|"intrusion"|"crowd", "classes",
        /// …}], "filters": {class: {min_score, min_area, max_area, min_aspect, max_aspect}}}.
        #[arg(long)]
        rules: PathBuf,
    },
    /// Stream an H.264 MP4 file over RTSP, a stand-in camera for trying `linli serve`'s cameras:
    /// clients connect to rtsp://LISTEN/anything and ask for TCP transport.
    RtspServe {
        /// The video (.mp4 with H.264).
        #[arg(long)]
        video: PathBuf,
        /// Address to listen on, HOST:PORT.
        #[arg(long, default_value = "127.0.0.1:8554")]
        listen: String,
        /// Send as fast as the client takes frames instead of at the video's pace.
        #[arg(long)]
        fast: bool,
        /// Start again at the end (else each client's stream ends with the file).
        #[arg(long)]
        repeat: bool,
    },
    /// Run a YOLO-format ONNX detector over a video; prints each analysed frame's detections as a
    /// JSON line (the format `scene --detections` and a camera's `detections` read) and, on
    /// standard error, frames per second.
    Detect {
        /// The video file (.y4m, or .mp4 with H.264).
        #[arg(long)]
        video: PathBuf,
        /// The .onnx model.
        #[arg(long)]
        model: PathBuf,
        /// The model's input, `640` or `640x384` (width × height; multiples of 32).
        #[arg(long, value_parser = parse_input_size)]
        input_size: [u32; 2],
        /// The model's class names in output order, comma-separated, or @FILE with one a line.
        #[arg(long)]
        classes: String,
        #[arg(long, default_value_t = 0.25)]
        score_threshold: f64,
        #[arg(long, default_value_t = 0.45)]
        iou_threshold: f64,
        #[arg(long, value_enum, default_value_t = BackendArg::Tract)]
        backend: BackendArg,
        /// Run the model on every Nth frame only.
        #[arg(long, default_value_t = 1)]
        every_nth_frame: u32,
    },
    /// Score the scene rules (precision and recall per rule) on synthetic tracked-object scenes
    /// with known truth, generated in memory; prints the figures as JSON.
    SceneEval {
        /// How many scenes (three minutes each).
        #[arg(long, default_value_t = 50)]
        generate: u32,
        /// Seed of the first scene.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write synthetic clips with known truth (<name>.y4m or .mp4, <name>.json, <name>.calib.json).
    Synth {
        /// Directory to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// How many clips.
        #[arg(long, default_value_t = 10)]
        count: u32,
        #[command(flatten)]
        clips: ClipArgs,
        #[arg(long, value_enum, default_value_t = ClipFormat::Y4m)]
        format: ClipFormat,
    },
    /// Score the detector (recall, false alarms per camera-hour, floor and column accuracy,
    /// frames per second) on the clips in a directory written by `synth`, or on clips generated
    /// in memory (`--generate N`), and print the figures as JSON.
    Eval {
        /// A directory of clips and their truth.
        #[arg(long, conflicts_with = "generate", required_unless_present = "generate")]
        dir: Option<PathBuf>,
        /// Generate this many clips in memory instead (nothing written to disk).
        #[arg(long)]
        generate: Option<u32>,
        /// How generated clips are made.
        #[command(flatten)]
        clips: ClipArgs,
        /// Also print each clip's outcome.
        #[arg(long)]
        verbose: bool,
    },
}

/// How synthetic clips are made (`synth`, and `eval --generate`).
#[derive(Args)]
pub struct ClipArgs {
    /// Seed of the first clip; clip i uses seed + i.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds a clip (1 to 3600).
    #[arg(long, default_value_t = 12.0)]
    duration: f64,
    /// Most throws a clip (drawn from 0 to this).
    #[arg(long, default_value_t = 2)]
    max_throws: u32,
}

impl ClipArgs {
    fn options(&self) -> anyhow::Result<ClipOptions> {
        if !(1.0..=3600.0).contains(&self.duration) {
            bail!("--duration must be 1 to 3600 seconds");
        }
        Ok(ClipOptions { duration_s: self.duration, max_throws: self.max_throws, ..ClipOptions::default() })
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum BackendArg {
    /// tract (pure Rust).
    Tract,
    /// ONNX Runtime from ORT_DYLIB_PATH (builds with the `ort` feature).
    Ort,
}

fn parse_input_size(text: &str) -> Result<[u32; 2], String> {
    let side = |s: &str| s.trim().parse::<u32>().map_err(|_| format!("{text:?} is not a size like 640 or 640x384"));
    match text.split_once(['x', 'X']) {
        Some((w, h)) => Ok([side(w)?, side(h)?]),
        None => side(text).map(|s| [s, s]),
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ClipFormat {
    Y4m,
    Mp4,
}

pub fn run(command: VisionCommand) -> anyhow::Result<()> {
    // Logs (RUST_LOG, e.g. `linli_vision=debug` for every judged track) go to standard error:
    // standard output carries the events.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    match command {
        VisionCommand::Throw { video, calib } => throw(&video, &calib),
        VisionCommand::Scene { detections, rules } => scene(&detections, &rules),
        VisionCommand::SceneEval { generate, seed } => scene_eval(generate, seed),
        VisionCommand::RtspServe { video, listen, fast, repeat } => {
            let listener = std::net::TcpListener::bind(&listen).with_context(|| format!("cannot listen on {listen}"))?;
            eprintln!("streaming {} at rtsp://{}/camera", video.display(), listener.local_addr()?);
            let options = linli_vision::video::ServeOptions { realtime: !fast, drop_after_frames: None, repeat };
            linli_vision::video::serve_mp4(listener, &video, options).with_context(|| format!("video {}", video.display()))
        }
        VisionCommand::Detect { video, model, input_size, classes, score_threshold, iou_threshold, backend, every_nth_frame } => {
            let classes = match classes.strip_prefix('@') {
                Some(file) => std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read classes {file}"))?
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
                None => classes.split(',').map(|c| c.trim().to_string()).collect(),
            };
            let backend = match backend {
                BackendArg::Tract => Backend::Tract,
                BackendArg::Ort => Backend::Ort,
            };
            let config = DetectorConfig { model: model.display().to_string(), input_size, classes, score_threshold, iou_threshold, backend, every_nth_frame };
            detect(&video, &config)
        }
        VisionCommand::Synth { out, count, clips, format } => synth(&out, count, &clips, format),
        VisionCommand::Eval { dir: Some(dir), verbose, .. } => eval_dir(&dir, verbose),
        VisionCommand::Eval { generate, clips, verbose, .. } => eval_generated(generate.unwrap_or_default(), &clips, verbose),
    }
}

fn read_calibration(path: &Path) -> anyhow::Result<Calibration> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read calibration {}", path.display()))?;
    Calibration::from_json(&text).with_context(|| format!("calibration {}", path.display()))
}

fn throw(video: &Path, calib: &Path) -> anyhow::Result<()> {
    let calib = read_calibration(calib)?;
    let mut source = open_source(&video.to_string_lossy())?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut write_error = None;
    let result = detect_throws(source.as_mut(), &calib, |event| {
        if write_error.is_none() {
            if let Err(e) = print_event(&mut out, event) {
                write_error = Some(e);
            }
        }
    });
    if let Some(e) = write_error {
        return Err(e).context("cannot write to standard output");
    }
    result.with_context(|| format!("video {}", video.display()))?;
    Ok(())
}

fn scene(detections: &Path, rules: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(rules).with_context(|| format!("cannot read rules {}", rules.display()))?;
    let config: SceneConfig = serde_json::from_str(&text).with_context(|| format!("rules {}", rules.display()))?;
    let mut engine = SceneRules::new(config, TrackerConfig::default()).map_err(anyhow::Error::msg).with_context(|| format!("rules {}", rules.display()))?;
    let text = std::fs::read_to_string(detections).with_context(|| format!("cannot read detections {}", detections.display()))?;
    let frames = parse_detections(&text).map_err(anyhow::Error::msg).with_context(|| format!("detections {}", detections.display()))?;
    let mut out = std::io::stdout().lock();
    for frame in frames {
        for event in engine.process(frame.t, &frame.detections) {
            print_event(&mut out, &event)?;
        }
    }
    Ok(())
}

fn detect(video: &Path, config: &DetectorConfig) -> anyhow::Result<()> {
    let mut detector = linli_vision::detect::load(config)?;
    let mut source = open_source(&video.to_string_lossy()).with_context(|| format!("video {}", video.display()))?;
    let mut out = std::io::stdout().lock();
    let (mut frames, mut analysed, mut busy) = (0u64, 0u64, std::time::Duration::ZERO);
    while let Some(frame) = source.next_frame().with_context(|| format!("video {}", video.display()))? {
        frames += 1;
        if !config.runs_on(frames - 1) {
            continue;
        }
        let began = std::time::Instant::now();
        let detections = detector.detect(&frame)?;
        busy += began.elapsed();
        analysed += 1;
        print_event(&mut out, &FrameDetections { t: frame.t, detections })?;
    }
    if frames == 0 {
        bail!("video {}: the video holds no frame", video.display());
    }
    let fps = analysed as f64 / busy.as_secs_f64().max(1e-9);
    eprintln!("{analysed} of {frames} frames analysed, {fps:.1} frames/s (model only, decoding not counted)");
    Ok(())
}

fn scene_eval(count: u32, seed: u64) -> anyhow::Result<()> {
    use linli_vision::scene::synth::{scene_config, SceneClip};
    let mut scores = std::collections::BTreeMap::new();
    for i in 0..u64::from(count) {
        let clip = SceneClip::new(seed + i);
        let mut engine = SceneRules::new(scene_config(), TrackerConfig::default()).map_err(anyhow::Error::msg)?;
        let raised: Vec<_> = clip.frames.iter().flat_map(|f| engine.process(f.t, &f.detections)).collect();
        linli_vision::eval::score_scene(&mut scores, &clip.expected, &raised);
    }
    let figures: serde_json::Map<String, serde_json::Value> = scores
        .iter()
        .map(|(rule, s)| {
            let value = serde_json::json!({"expected": s.expected, "raised": s.raised, "matched": s.matched, "precision": s.precision(), "recall": s.recall()});
            (rule.clone(), value)
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&serde_json::json!({"scenes": count, "rules": figures}))?);
    Ok(())
}

fn print_event(out: &mut impl Write, event: &impl serde::Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, event)?;
    writeln!(out)?;
    out.flush()
}

fn synth(out: &Path, count: u32, clips: &ClipArgs, format: ClipFormat) -> anyhow::Result<()> {
    let (options, seed) = (clips.options()?, clips.seed);
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for i in 0..u64::from(count) {
        let mut clip = Clip::new(seed + i, &options);
        let name = format!("clip-{:06}", seed + i);
        let (width, height, fps) = (clip.truth.width, clip.truth.height, clip.truth.fps);
        match format {
            ClipFormat::Y4m => {
                let mut writer = Y4mWriter::create(&out.join(format!("{name}.y4m")), width, height, fps)?;
                while let Some(frame) = clip.next_frame() {
                    writer.write(&frame)?;
                }
                writer.finish()?;
            }
            ClipFormat::Mp4 => {
                let mut writer = Mp4Writer::create(&out.join(format!("{name}.mp4")), width, height, fps, 4_000_000)?;
                while let Some(frame) = clip.next_frame() {
                    writer.write(&frame)?;
                }
                writer.finish()?;
            }
        }
        std::fs::write(out.join(format!("{name}.json")), serde_json::to_string_pretty(&clip.truth)?)?;
        std::fs::write(out.join(format!("{name}.calib.json")), serde_json::to_string(&clip.truth.calib)?)?;
        println!("{name}: {} throws, {}", clip.truth.throws.len(), clip.truth.conditions.join(", "));
    }
    Ok(())
}

fn eval_dir(dir: &Path, verbose: bool) -> anyhow::Result<()> {
    let mut truths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.to_string_lossy().ends_with(".calib.json"))
        .collect();
    truths.sort();
    if truths.is_empty() {
        bail!("no clip truth (<name>.json) in {}", dir.display());
    }
    let mut tally = Tally::new(verbose);
    for truth_path in truths {
        let truth: Truth = serde_json::from_str(&std::fs::read_to_string(&truth_path)?).with_context(|| format!("truth {}", truth_path.display()))?;
        let video = ["y4m", "mp4"].iter().map(|e| truth_path.with_extension(e)).find(|p| p.exists());
        let Some(video) = video else { bail!("no video beside {}", truth_path.display()) };
        let mut source = open_video(&video)?;
        let mut events = Vec::new();
        let started = std::time::Instant::now();
        let frames = detect_throws(source.as_mut(), &truth.calib, |e| events.push(e.clone())).with_context(|| format!("video {}", video.display()))?;
        tally.add(&video.file_name().unwrap_or_default().to_string_lossy(), &truth, &events, frames, started.elapsed());
    }
    tally.print()
}

fn eval_generated(count: u32, clips: &ClipArgs, verbose: bool) -> anyhow::Result<()> {
    if count == 0 {
        bail!("--generate must be at least 1");
    }
    let (options, seed) = (clips.options()?, clips.seed);
    let mut tally = Tally::new(verbose);
    for i in 0..u64::from(count) {
        let mut clip = Clip::new(seed + i, &options);
        let mut detector = ThrowDetector::new(clip.truth.calib.clone(), clip.truth.width, clip.truth.height)?;
        let (mut events, mut frames, mut busy) = (Vec::new(), 0u64, std::time::Duration::ZERO);
        while let Some(luma) = clip.next_frame() {
            let frame = Frame::new(clip.truth.width, clip.truth.height, frames as f64 / f64::from(clip.truth.fps), luma);
            // Only the detector is timed: rendering a clip costs more than watching it.
            let started = std::time::Instant::now();
            events.extend(detector.push(&frame));
            busy += started.elapsed();
            frames += 1;
        }
        events.extend(detector.finish());
        tally.add(&format!("clip-{:06}", seed + i), &clip.truth, &events, frames, busy);
    }
    tally.print()
}

/// Scores and timing over many clips.
struct Tally {
    score: Score,
    frames: u64,
    busy: std::time::Duration,
    verbose: bool,
}

impl Tally {
    fn new(verbose: bool) -> Self {
        Self { score: Score::default(), frames: 0, busy: std::time::Duration::ZERO, verbose }
    }

    fn add(&mut self, name: &str, truth: &Truth, events: &[ThrowEvent], frames: u64, busy: std::time::Duration) {
        let mut clip_score = Score::default();
        clip_score.add(truth, events);
        if self.verbose {
            let found: Vec<String> =
                events.iter().map(|e| format!("t {:.2} floor {} column {} ({:.2})", e.t_start, e.origin.floor, e.origin.column, e.confidence)).collect();
            let wanted: Vec<String> = truth.throws.iter().map(|t| format!("t {:.2} floor {} column {}", t.t, t.floor, t.column)).collect();
            eprintln!(
                "{name}: truth [{}] found [{}] missed {} false {} ({})",
                wanted.join("; "),
                found.join("; "),
                clip_score.throws - clip_score.detected,
                clip_score.false_alarms,
                truth.conditions.join(", ")
            );
        }
        self.score.add(truth, events);
        self.frames += frames;
        self.busy += busy;
    }

    fn print(&self) -> anyhow::Result<()> {
        let mut summary = self.score.summary();
        summary["frames"] = self.frames.into();
        summary["frames_per_second"] = (self.frames as f64 / self.busy.as_secs_f64().max(1e-9)).into();
        println!("{}", serde_json::to_string_pretty(&summary)?);
        Ok(())
    }
}
