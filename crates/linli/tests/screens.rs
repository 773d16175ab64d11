//! The three screens in a real browser: `ui/tests/e2e.mjs` drives Debian's chromium through
//! playwright-core against a `linli demo`. Needs `LINLI_TEST_CHROMIUM` (the browser's path),
//! Node.js and `npm ci` run in `ui/`; `.ci/run` provides all three.
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn the_three_screens_in_a_browser() {
    let Ok(chromium) = std::env::var("LINLI_TEST_CHROMIUM") else {
        let _ = writeln!(std::io::stderr(), "skipped: LINLI_TEST_CHROMIUM is not set, the screens are not tested in a browser");
        return;
    };
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui");
    assert!(ui.join("node_modules/playwright-core").is_dir(), "run `npm ci` in {} first (LINLI_TEST_CHROMIUM is set)", ui.display());

    let dir = tempfile::tempdir().unwrap();
    let mut demo = Command::new(env!("CARGO_BIN_EXE_linli"));
    // Keep the caller's LINLI_* settings from leaking into the tested binary.
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("LINLI_")) {
        demo.env_remove(key);
    }
    let mut demo = demo
        .args(["demo", "--listen", "127.0.0.1:0", "--scale", "2000", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("demo exited before listening").unwrap();
        if let Some(rest) = line.strip_prefix("linli listening on http://") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining the demo's output so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));

    let mut e2e = Command::new("node");
    e2e.arg(ui.join("tests/e2e.mjs")).args(["--base", &format!("http://{address}"), "--chromium", &chromium]);
    if let Ok(shots) = std::env::var("LINLI_TEST_SCREENSHOTS") {
        e2e.args(["--shots", &shots]);
    }
    let output = e2e.output().expect("node runs (is Node.js installed?)");
    demo.kill().unwrap();
    demo.wait().unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let _ = writeln!(std::io::stderr(), "{report}");
    assert!(output.status.success(), "end-to-end tests failed:\n{report}");
}
