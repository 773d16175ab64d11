//! H.264 in MP4: the `mp4` crate reads the container, OpenH264 (built from its bundled source)
//! decodes. Samples are length-prefixed NAL units (AVCC); the decoder wants Annex B start codes.

use super::{Result, VideoError, VideoFormat, VideoSource};
use crate::Frame;
use openh264::decoder::Decoder;
use openh264::encoder::{Encoder, EncoderConfig, FrameType};
use openh264::formats::{YUVBuffer, YUVSource};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Seek, Write};
use std::path::Path;

const START_CODE: [u8; 4] = [0, 0, 0, 1];

pub struct Mp4Reader {
    container: mp4::Mp4Reader<BufReader<File>>,
    decoder: Decoder,
    track_id: u32,
    sample_count: u32,
    next_sample: u32,
    timescale: f64,
    nal_length_size: usize,
    format: VideoFormat,
    /// Composition times of the samples fed and not yet shown: a decoder that reorders (B-frames)
    /// hands pictures out in display order, so each takes the earliest time left.
    times: BinaryHeap<Reverse<i64>>,
    ready: VecDeque<Frame>,
    annex_b: Vec<u8>,
    flushed: bool,
}

impl Mp4Reader {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| VideoError::Open { path: path.display().to_string(), source })?;
        let size = file.metadata()?.len();
        let container = mp4::Mp4Reader::read_header(BufReader::with_capacity(1 << 20, file), size).map_err(container_error)?;
        let mut video = None;
        let mut other_codecs = Vec::new();
        let mut ids: Vec<u32> = container.tracks().keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let track = &container.tracks()[&id];
            if !matches!(track.track_type(), Ok(mp4::TrackType::Video)) {
                continue;
            }
            match track.media_type() {
                Ok(mp4::MediaType::H264) => {
                    video = Some(id);
                    break;
                }
                Ok(other) => other_codecs.push(other.to_string()),
                Err(_) => other_codecs.push(track.box_type().map(|b| b.to_string()).unwrap_or_else(|_| "unknown".into())),
            }
        }
        let Some(track_id) = video else {
            return Err(VideoError::Unsupported(match other_codecs.is_empty() {
                true => "the MP4 file has no video track".into(),
                false => format!("codec {} (only H.264 is supported)", other_codecs.join(", ")),
            }));
        };
        let track = &container.tracks()[&track_id];
        let avc1 = track.trak.mdia.minf.stbl.stsd.avc1.as_ref().ok_or_else(|| VideoError::Corrupt("no avc1 sample entry".into()))?;
        let nal_length_size = usize::from(avc1.avcc.length_size_minus_one & 3) + 1;
        let mut decoder = Decoder::new().map_err(|e| VideoError::Unsupported(format!("the H.264 decoder cannot start: {e}")))?;
        // Parameter sets live in the sample entry (avc1); avc3 streams carry them inline.
        let mut headers = Vec::new();
        for nal in avc1.avcc.sequence_parameter_sets.iter().chain(&avc1.avcc.picture_parameter_sets) {
            headers.extend_from_slice(&START_CODE);
            headers.extend_from_slice(&nal.bytes);
        }
        if !headers.is_empty() {
            decoder.decode(&headers).map_err(|e| VideoError::Corrupt(format!("bad H.264 parameter sets: {e}")))?;
        }
        let sample_count = track.sample_count();
        let timescale = f64::from(track.timescale().max(1));
        let duration = track.duration().as_secs_f64();
        let fps = match track.frame_rate() {
            fps if fps.is_finite() && fps > 0.0 => fps,
            _ if duration > 0.0 => f64::from(sample_count) / duration,
            _ => 25.0,
        };
        let (width, height) = (usize::from(track.width()), usize::from(track.height()));
        if sample_count == 0 {
            return Err(VideoError::Truncated("the MP4 video track has no samples".into()));
        }
        Ok(Self {
            container,
            decoder,
            track_id,
            sample_count,
            next_sample: 1,
            timescale,
            nal_length_size,
            format: VideoFormat { width, height, fps },
            times: BinaryHeap::new(),
            ready: VecDeque::new(),
            annex_b: Vec::new(),
            flushed: false,
        })
    }
}

impl VideoSource for Mp4Reader {
    fn format(&self) -> VideoFormat {
        self.format
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        loop {
            if let Some(frame) = self.ready.pop_front() {
                return Ok(Some(frame));
            }
            if self.next_sample > self.sample_count {
                if self.flushed {
                    return Ok(None);
                }
                self.flushed = true;
                let remaining = self.decoder.flush_remaining().map_err(|e| VideoError::Corrupt(format!("the last frames cannot be decoded: {e}")))?;
                for yuv in remaining {
                    let t = earliest_time(&mut self.times, self.timescale);
                    let (width, height) = yuv.dimensions();
                    self.ready.push_back(Frame::from_strided(width, height, t, yuv.y(), yuv.strides().0));
                }
                continue;
            }
            let n = self.next_sample;
            self.next_sample += 1;
            let sample = match self.container.read_sample(self.track_id, n) {
                Ok(Some(sample)) => sample,
                Ok(None) => return Err(VideoError::Truncated(format!("sample {n} is missing"))),
                Err(mp4::Error::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                    return Err(VideoError::Truncated(format!("sample {n} of {} is cut short", self.sample_count)))
                }
                Err(e) => return Err(container_error(e)),
            };
            self.times.push(Reverse(sample.start_time as i64 + i64::from(sample.rendering_offset)));
            avcc_to_annex_b(&sample.bytes, self.nal_length_size, &mut self.annex_b).map_err(|why| VideoError::Corrupt(format!("sample {n}: {why}")))?;
            match self.decoder.decode(&self.annex_b) {
                Ok(Some(yuv)) => {
                    let t = earliest_time(&mut self.times, self.timescale);
                    let (width, height) = yuv.dimensions();
                    self.ready.push_back(Frame::from_strided(width, height, t, yuv.y(), yuv.strides().0));
                }
                Ok(None) => {}
                Err(e) => return Err(VideoError::Corrupt(format!("frame {n} cannot be decoded: {e}"))),
            }
        }
    }
}

/// The earliest composition time not yet given to a picture, in seconds. A free function: the
/// decoded picture still borrows the decoder when its time is taken.
fn earliest_time(times: &mut BinaryHeap<Reverse<i64>>, timescale: f64) -> f64 {
    times.pop().map(|Reverse(t)| t as f64 / timescale).unwrap_or_default()
}

fn container_error(error: mp4::Error) -> VideoError {
    match error {
        mp4::Error::IoError(e) if e.kind() == ErrorKind::UnexpectedEof => VideoError::Truncated("the MP4 file ends early".into()),
        mp4::Error::IoError(e) => VideoError::Io(e),
        mp4::Error::BoxNotFound(kind) if kind.to_string() == "moov" => {
            VideoError::Truncated("the MP4 file has no movie header (moov); it may be cut short".into())
        }
        other => VideoError::Corrupt(format!("bad MP4 container: {other}")),
    }
}

/// Rewrites length-prefixed NAL units as start-code-prefixed ones into `out`.
fn avcc_to_annex_b(sample: &[u8], length_size: usize, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    out.clear();
    for nal in split_avcc(sample, length_size)? {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(nal);
    }
    Ok(())
}

/// The NAL units of a sample whose units are each prefixed by a big-endian length of
/// `length_size` bytes (AVCC, as MP4 keeps them).
pub(super) fn split_avcc(sample: &[u8], length_size: usize) -> std::result::Result<Vec<&[u8]>, String> {
    let mut nals = Vec::new();
    let mut rest = sample;
    while !rest.is_empty() {
        if rest.len() < length_size {
            return Err("a NAL length is cut short".into());
        }
        let length = rest[..length_size].iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
        rest = &rest[length_size..];
        if length > rest.len() {
            return Err(format!("a NAL unit of {length} bytes overruns the sample"));
        }
        nals.push(&rest[..length]);
        rest = &rest[length..];
    }
    Ok(nals)
}

/// Encodes luma frames (neutral chroma) as H.264 with OpenH264 and writes them into an MP4 file
/// (or, with [`Mp4Writer::to_writer`], anything seekable: evidence clips are made in memory).
pub struct Mp4Writer<W: Write + Seek = BufWriter<File>> {
    encoder: Encoder,
    /// The output until the first frame, whose parameter sets the track's header needs, is encoded.
    file: Option<W>,
    container: Option<mp4::Mp4Writer<W>>,
    width: usize,
    height: usize,
    fps: u32,
    frames: u64,
}

impl Mp4Writer {
    /// `width` and `height` must be even (4:2:0).
    pub fn create(path: &Path, width: usize, height: usize, fps: u32, bitrate_bps: u32) -> std::io::Result<Self> {
        Mp4Writer::to_writer(BufWriter::new(File::create(path)?), width, height, fps, bitrate_bps)
    }
}

impl<W: Write + Seek> Mp4Writer<W> {
    /// `width` and `height` must be even (4:2:0).
    pub fn to_writer(out: W, width: usize, height: usize, fps: u32, bitrate_bps: u32) -> std::io::Result<Self> {
        let config = EncoderConfig::new()
            .bitrate(openh264::encoder::BitRate::from_bps(bitrate_bps))
            .max_frame_rate(openh264::encoder::FrameRate::from_hz(fps as f32))
            .skip_frames(false);
        let encoder = Encoder::with_api_config(openh264::OpenH264API::from_source(), config).map_err(std::io::Error::other)?;
        Ok(Self { encoder, file: Some(out), container: None, width, height, fps, frames: 0 })
    }

    pub fn write(&mut self, luma: &[u8]) -> std::io::Result<()> {
        assert_eq!(luma.len(), self.width * self.height, "frame size");
        let mut planes = vec![128u8; self.width * self.height * 3 / 2];
        planes[..luma.len()].copy_from_slice(luma);
        let stream = self.encoder.encode(&YUVBuffer::from_vec(planes, self.width, self.height)).map_err(std::io::Error::other)?;
        let is_sync = matches!(stream.frame_type(), FrameType::IDR | FrameType::I);
        let (mut sample, mut sps, mut pps) = (Vec::new(), None, None);
        for l in 0..stream.num_layers() {
            let layer = stream.layer(l).expect("layer index in range");
            for n in 0..layer.nal_count() {
                let nal = strip_start_code(layer.nal_unit(n).expect("nal index in range"));
                match nal.first().map(|b| b & 0x1f) {
                    Some(7) => sps = Some(nal.to_vec()),
                    Some(8) => pps = Some(nal.to_vec()),
                    Some(_) => {
                        sample.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                        sample.extend_from_slice(nal);
                    }
                    None => {}
                }
            }
        }
        if let Some(file) = self.file.take() {
            // OpenH264 opens a stream with an IDR frame and its parameter sets.
            let (Some(sps), Some(pps)) = (sps, pps) else { return Err(std::io::Error::other("the encoder gave no parameter sets")) };
            let config = mp4::Mp4Config {
                major_brand: "isom".parse().expect("brand"),
                minor_version: 512,
                compatible_brands: ["isom", "iso2", "avc1", "mp41"].iter().map(|b| b.parse().expect("brand")).collect(),
                timescale: 1000,
            };
            let mut container = mp4::Mp4Writer::write_start(file, &config).map_err(std::io::Error::other)?;
            let media_conf =
                mp4::MediaConfig::AvcConfig(mp4::AvcConfig { width: self.width as u16, height: self.height as u16, seq_param_set: sps, pic_param_set: pps });
            container
                .add_track(&mp4::TrackConfig { track_type: mp4::TrackType::Video, timescale: 1000, language: "und".into(), media_conf })
                .map_err(std::io::Error::other)?;
            self.container = Some(container);
        }
        let start_time = self.frames * 1000 / u64::from(self.fps);
        let duration = ((self.frames + 1) * 1000 / u64::from(self.fps) - start_time) as u32;
        self.frames += 1;
        let sample = mp4::Mp4Sample { start_time, duration, rendering_offset: 0, is_sync, bytes: bytes::Bytes::from(sample) };
        self.container.as_mut().expect("started above").write_sample(1, &sample).map_err(std::io::Error::other)
    }

    /// Writes the index and hands the output back, flushed.
    pub fn finish(self) -> std::io::Result<W> {
        let Some(mut container) = self.container else { return Err(std::io::Error::other("no frame was encoded")) };
        container.write_end().map_err(std::io::Error::other)?;
        let mut out = container.into_writer();
        out.flush()?;
        Ok(out)
    }
}

fn strip_start_code(nal: &[u8]) -> &[u8] {
    if nal.starts_with(&START_CODE) {
        &nal[4..]
    } else if nal.starts_with(&[0, 0, 1]) {
        &nal[3..]
    } else {
        nal
    }
}
