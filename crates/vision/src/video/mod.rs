//! Video input: a [`VideoSource`] yields frames in display order with their times. The format is
//! told by the file's first bytes, not its name.

mod mp4;
mod rtsp;
mod y4m;

pub use self::mp4::{Mp4Reader, Mp4Writer};
pub use self::rtsp::{serve_mp4, RtspReader, ServeOptions};
pub use self::y4m::{Y4mReader, Y4mWriter};

use crate::Frame;
use std::io::Read;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error("cannot open {path}: {source}")]
    Open { path: String, source: std::io::Error },
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
    #[error("unsupported video: {0}")]
    Unsupported(String),
    #[error("corrupt video: {0}")]
    Corrupt(String),
    #[error("truncated video: {0}")]
    Truncated(String),
}

pub type Result<T> = std::result::Result<T, VideoError>;

/// What a video's header says of its frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoFormat {
    pub width: usize,
    pub height: usize,
    /// Nominal frames per second (from the header or the sample times).
    pub fps: f64,
}

/// Frames in display order. `next_frame` gives `Ok(None)` at the end of the stream.
pub trait VideoSource {
    fn format(&self) -> VideoFormat;
    fn next_frame(&mut self) -> Result<Option<Frame>>;
}

/// Opens a live `rtsp://` stream, or else a file (see [`open_video`]).
pub fn open_source(source: &str) -> Result<Box<dyn VideoSource>> {
    let source = source.trim();
    if source.get(..7).is_some_and(|scheme| scheme.eq_ignore_ascii_case("rtsp://")) {
        return Ok(Box::new(RtspReader::open(source)?));
    }
    open_video(Path::new(source))
}

/// Opens a Y4M or an MP4 (H.264) file, told apart by their first bytes.
pub fn open_video(path: &Path) -> Result<Box<dyn VideoSource>> {
    let open_error = |source| VideoError::Open { path: path.display().to_string(), source };
    let mut head = Vec::with_capacity(12);
    std::fs::File::open(path).and_then(|file| file.take(12).read_to_end(&mut head)).map_err(open_error)?;
    if head.is_empty() {
        return Err(VideoError::Truncated(format!("{} is empty", path.display())));
    }
    if head.starts_with(b"YUV4MPEG2") {
        return Ok(Box::new(Y4mReader::open(path)?));
    }
    if head.len() >= 8 && matches!(&head[4..8], b"ftyp" | b"moov" | b"mdat" | b"free" | b"wide" | b"skip") {
        return Ok(Box::new(Mp4Reader::open(path)?));
    }
    Err(VideoError::Unsupported(format!("{} is neither YUV4MPEG2 nor MP4", path.display())))
}
