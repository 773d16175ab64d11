//! A decoded video frame: the luma plane (what the analytics read) and the time it shows.

/// One frame's luma (Y) plane, 8 bits a sample, row-major without padding.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub width: usize,
    pub height: usize,
    /// Seconds from the start of the video.
    pub t: f64,
    pub luma: Vec<u8>,
}

impl Frame {
    pub fn new(width: usize, height: usize, t: f64, luma: Vec<u8>) -> Self {
        debug_assert_eq!(luma.len(), width * height);
        Self { width, height, t, luma }
    }

    /// Copies a plane whose rows are `stride` bytes apart (decoders pad rows).
    pub fn from_strided(width: usize, height: usize, t: f64, plane: &[u8], stride: usize) -> Self {
        let mut luma = Vec::with_capacity(width * height);
        for row in plane.chunks(stride).take(height) {
            luma.extend_from_slice(&row[..width]);
        }
        Self::new(width, height, t, luma)
    }
}
