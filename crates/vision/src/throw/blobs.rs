//! Connected foreground regions (8-connected) found run by run: each row's runs of foreground
//! are joined to the runs they touch in the row above through a union-find, so the work follows
//! the foreground, and a frame's blobs come with their area, box and weighted centre.

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blob {
    /// Centre weighted by strength, frame pixels.
    pub x: f64,
    pub y: f64,
    pub area: u32,
    pub width: u32,
    pub height: u32,
    /// Strongest difference from the background inside.
    pub peak: u8,
}

#[derive(Clone, Copy)]
struct Run {
    y: u32,
    x0: u32,
    x1: u32,
    label: u32,
}

#[derive(Clone, Copy, Default)]
struct Stats {
    area: u32,
    weight: f64,
    sum_x: f64,
    sum_y: f64,
    x0: u32,
    x1: u32,
    y0: u32,
    y1: u32,
    peak: u8,
}

/// Finds the blobs of `strength` (a `width`-wide rectangle whose top-left is `origin` in the
/// frame). Runs of at most `max_runs` are followed; beyond that the frame is clutter, and the
/// caller hears so through `None`.
pub fn find_blobs(strength: &[u8], width: usize, origin: (usize, usize), max_runs: usize) -> Option<Vec<Blob>> {
    let mut runs: Vec<Run> = Vec::new();
    let mut parent: Vec<u32> = Vec::new();
    let mut previous_row = 0..0;
    for (y, row) in strength.chunks_exact(width).enumerate() {
        let row_start = runs.len();
        let mut x = 0;
        while x < width {
            // Skip background eight bytes at a time: most of a row is background.
            if x + 8 <= width && u64::from_ne_bytes(row[x..x + 8].try_into().expect("eight bytes")) == 0 {
                x += 8;
                continue;
            }
            if row[x] == 0 {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] != 0 {
                x += 1;
            }
            if runs.len() >= max_runs {
                return None;
            }
            let label = parent.len() as u32;
            parent.push(label);
            let run = Run { y: y as u32, x0: start as u32, x1: x as u32, label };
            // Runs above that touch this one, diagonals included.
            for above in &runs[previous_row.clone()] {
                if above.x1 + 1 > run.x0 && run.x1 + 1 > above.x0 {
                    union(&mut parent, above.label, label);
                }
            }
            runs.push(run);
        }
        previous_row = row_start..runs.len();
    }
    let mut stats: Vec<Stats> = vec![Stats::default(); parent.len()];
    for run in &runs {
        let root = find(&mut parent, run.label) as usize;
        let s = &mut stats[root];
        if s.area == 0 {
            (s.x0, s.x1, s.y0, s.y1) = (run.x0, run.x1, run.y, run.y);
        }
        s.x0 = s.x0.min(run.x0);
        s.x1 = s.x1.max(run.x1);
        s.y0 = s.y0.min(run.y);
        s.y1 = s.y1.max(run.y);
        s.area += run.x1 - run.x0;
        let row = &strength[run.y as usize * width..];
        for x in run.x0..run.x1 {
            let w = f64::from(row[x as usize]);
            s.weight += w;
            s.sum_x += w * f64::from(x);
            s.sum_y += w * f64::from(run.y);
            s.peak = s.peak.max(row[x as usize]);
        }
    }
    Some(
        stats
            .iter()
            .filter(|s| s.area > 0)
            .map(|s| Blob {
                x: s.sum_x / s.weight + origin.0 as f64 + 0.5,
                y: s.sum_y / s.weight + origin.1 as f64 + 0.5,
                area: s.area,
                width: s.x1 - s.x0,
                height: s.y1 - s.y0 + 1,
                peak: s.peak,
            })
            .collect(),
    )
}

fn find(parent: &mut [u32], mut label: u32) -> u32 {
    while parent[label as usize] != label {
        parent[label as usize] = parent[parent[label as usize] as usize];
        label = parent[label as usize];
    }
    label
}

fn union(parent: &mut [u32], a: u32, b: u32) {
    let (a, b) = (find(parent, a), find(parent, b));
    if a != b {
        parent[a.max(b) as usize] = a.min(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_join_diagonals_and_keep_apart_what_does_not_touch() {
        #[rustfmt::skip]
        let image: Vec<u8> = [
            "..........",
            ".##.......",
            "...#....#.",
            "..##....#.",
            "..........",
            "#........#",
        ].iter().flat_map(|row| row.bytes().map(|b| if b == b'#' { 9 } else { 0 })).collect();
        let mut blobs = find_blobs(&image, 10, (100, 200), 100).unwrap();
        blobs.sort_by(|a, b| a.area.cmp(&b.area).then(a.x.total_cmp(&b.x)));
        let areas: Vec<u32> = blobs.iter().map(|b| b.area).collect();
        assert_eq!(areas, vec![1, 1, 2, 5]);
        let big = blobs.last().unwrap();
        assert_eq!((big.width, big.height), (3, 3));
        assert!((big.x - (100.0 + 2.2 + 0.5)).abs() < 1e-9, "{}", big.x);
        assert!((big.y - (200.0 + 2.0 + 0.5)).abs() < 1e-9, "{}", big.y);
        assert!(find_blobs(&image, 10, (0, 0), 3).is_none(), "clutter is reported");
    }
}
