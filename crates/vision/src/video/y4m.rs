//! YUV4MPEG2 (`.y4m`): a text header, then frames of raw planes. Written by hand: the format is
//! a header line and fixed-size planes, and the crates for it read whole frames we would copy.

use super::{Result, VideoError, VideoFormat, VideoSource};
use crate::Frame;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Read, Write};
use std::path::Path;

pub struct Y4mReader {
    input: BufReader<File>,
    format: VideoFormat,
    /// Bytes a sample (1, or 2 for depths above 8 bits, little-endian).
    sample_bytes: usize,
    /// Shift bringing a sample to 8 bits.
    shift: u32,
    chroma_samples: usize,
    frames_read: usize,
    scratch: Vec<u8>,
}

impl Y4mReader {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| VideoError::Open { path: path.display().to_string(), source })?;
        let mut input = BufReader::with_capacity(1 << 20, file);
        let header = read_line(&mut input, 4096)?.ok_or_else(|| VideoError::Truncated("no YUV4MPEG2 header".into()))?;
        let mut tokens = header.split(' ');
        if tokens.next() != Some("YUV4MPEG2") {
            return Err(VideoError::Corrupt("the header does not start with YUV4MPEG2".into()));
        }
        let (mut width, mut height, mut fps, mut colour) = (0usize, 0usize, 25.0, "420jpeg".to_string());
        for token in tokens.filter(|t| !t.is_empty()) {
            let (tag, value) = token.split_at(1);
            match tag {
                "W" => width = value.parse().map_err(|_| VideoError::Corrupt(format!("bad width {value:?}")))?,
                "H" => height = value.parse().map_err(|_| VideoError::Corrupt(format!("bad height {value:?}")))?,
                "F" => fps = parse_ratio(value).ok_or_else(|| VideoError::Corrupt(format!("bad frame rate {value:?}")))?,
                "C" => colour = value.to_string(),
                "I" if !matches!(value, "p" | "?" | "t" | "b" | "m") => return Err(VideoError::Corrupt(format!("bad interlacing {value:?}"))),
                _ => {}
            }
        }
        if width == 0 || height == 0 || width > 16384 || height > 16384 {
            return Err(VideoError::Corrupt(format!("frame size {width}×{height} is out of range")));
        }
        if !(fps.is_finite() && fps > 0.0 && fps <= 1000.0) {
            return Err(VideoError::Corrupt(format!("frame rate {fps} is out of range")));
        }
        // A depth above 8 bits is a `p` and digits at the end: 420p10, 444p12.
        let (layout, depth) = match colour.rsplit_once('p') {
            Some((layout, depth)) if !layout.is_empty() && !depth.is_empty() && depth.bytes().all(|b| b.is_ascii_digit()) => {
                (layout.to_string(), depth.parse::<u32>().ok())
            }
            _ => (colour.clone(), Some(8)),
        };
        let depth = match (layout.as_str(), depth) {
            ("mono16", _) => 16,
            (_, Some(depth @ 8..=16)) => depth,
            _ => return Err(VideoError::Unsupported(format!("Y4M colour space C{colour}"))),
        };
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        let chroma_samples = match layout.trim_end_matches("jpeg").trim_end_matches("paldv").trim_end_matches("mpeg2") {
            "420" => 2 * cw * ch,
            "422" => 2 * cw * height,
            "444" => 2 * width * height,
            "444alpha" => 3 * width * height,
            "411" => 2 * width.div_ceil(4) * height,
            "mono" | "mono16" => 0,
            _ => return Err(VideoError::Unsupported(format!("Y4M colour space C{colour}"))),
        };
        let sample_bytes = if depth > 8 { 2 } else { 1 };
        Ok(Self { input, format: VideoFormat { width, height, fps }, sample_bytes, shift: depth - 8, chroma_samples, frames_read: 0, scratch: Vec::new() })
    }
}

impl VideoSource for Y4mReader {
    fn format(&self) -> VideoFormat {
        self.format
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let n = self.frames_read;
        let Some(line) = read_line(&mut self.input, 1024)? else { return Ok(None) };
        if !line.starts_with("FRAME") {
            return Err(VideoError::Corrupt(format!("frame {} does not start with FRAME", n + 1)));
        }
        let truncated = |e: std::io::Error| match e.kind() {
            ErrorKind::UnexpectedEof => VideoError::Truncated(format!("frame {} is cut short", n + 1)),
            _ => VideoError::Io(e),
        };
        let VideoFormat { width, height, fps } = self.format;
        let luma_bytes = width * height * self.sample_bytes;
        let mut luma = vec![0u8; luma_bytes];
        self.input.read_exact(&mut luma).map_err(truncated)?;
        if self.sample_bytes == 2 {
            luma = luma.chunks_exact(2).map(|s| (u16::from_le_bytes([s[0], s[1]]) >> self.shift).min(255) as u8).collect();
        }
        self.scratch.resize(self.chroma_samples * self.sample_bytes, 0);
        self.input.read_exact(&mut self.scratch).map_err(truncated)?;
        self.frames_read += 1;
        Ok(Some(Frame::new(width, height, n as f64 / fps, luma)))
    }
}

/// Reads one `\n`-ended line (without it); `None` at a clean end of file.
fn read_line(input: &mut impl BufRead, limit: usize) -> Result<Option<String>> {
    let mut line = Vec::new();
    input.by_ref().take(limit as u64).read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(if line.len() + 1 >= limit {
            VideoError::Corrupt("a header line is too long".into())
        } else {
            VideoError::Truncated("a header line is cut short".into())
        });
    }
    String::from_utf8(line).map(Some).map_err(|_| VideoError::Corrupt("a header line is not text".into()))
}

fn parse_ratio(value: &str) -> Option<f64> {
    let (num, den) = value.split_once(':')?;
    let (num, den) = (num.parse::<f64>().ok()?, den.parse::<f64>().ok()?);
    (den > 0.0).then(|| num / den)
}

/// Writes 8-bit 4:2:0 Y4M with neutral chroma (the analytics read luma alone).
pub struct Y4mWriter {
    output: BufWriter<File>,
    chroma: Vec<u8>,
    width: usize,
    height: usize,
}

impl Y4mWriter {
    pub fn create(path: &Path, width: usize, height: usize, fps: u32) -> std::io::Result<Self> {
        let mut output = BufWriter::with_capacity(1 << 20, File::create(path)?);
        writeln!(output, "YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg")?;
        let chroma = vec![128u8; 2 * width.div_ceil(2) * height.div_ceil(2)];
        Ok(Self { output, chroma, width, height })
    }

    pub fn write(&mut self, luma: &[u8]) -> std::io::Result<()> {
        assert_eq!(luma.len(), self.width * self.height, "frame size");
        self.output.write_all(b"FRAME\n")?;
        self.output.write_all(luma)?;
        self.output.write_all(&self.chroma)
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.output.flush()
    }
}
