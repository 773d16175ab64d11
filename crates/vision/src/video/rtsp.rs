//! Live H.264 over RTSP: `retina` (pure Rust) speaks RTSP and depacketises RTP, interleaved on
//! the TCP connection, into Annex B access units with their parameter sets; OpenH264 decodes
//! them. A camera thread is synchronous, so the session runs on a small runtime of its own.
//!
//! Also a minimal RTSP server that streams an H.264 MP4 file, one client at a time: a stand-in
//! camera for tests and demos (`linli vision rtsp-serve`). Written by hand: the Rust RTSP server
//! crates are whole media servers, and the four requests a client makes fit in a page.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::pin::Pin;
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::StreamExt;
use openh264::decoder::Decoder;
use openh264::formats::YUVSource;
use retina::client::{Credentials, Demuxed, PlayOptions, Session, SessionOptions, SetupOptions};
use retina::codec::{CodecItem, FrameFormat};

use super::{Result, VideoError, VideoFormat, VideoSource};
use crate::Frame;

/// A stream that sends nothing for this long has dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct RtspReader {
    runtime: tokio::runtime::Runtime,
    /// Taken when dropped: the session's goodbye (TEARDOWN) needs the runtime.
    stream: Option<Pin<Box<Demuxed>>>,
    decoder: Decoder,
    format: VideoFormat,
}

fn stream_error(what: &str, error: impl std::fmt::Display) -> VideoError {
    VideoError::Io(std::io::Error::other(format!("{what}: {error}")))
}

impl RtspReader {
    /// Connects (DESCRIBE, SETUP of the first H.264 video stream over TCP, PLAY). Credentials
    /// may be given in the URL (`rtsp://user:password@host/…`).
    pub fn open(source: &str) -> Result<Self> {
        let mut url = url::Url::parse(source).map_err(|e| VideoError::Unsupported(format!("{source:?} is not a URL: {e}")))?;
        let creds = (!url.username().is_empty())
            .then(|| Credentials { username: url.username().to_string(), password: url.password().unwrap_or_default().to_string() });
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(VideoError::Io)?;
        let shown = url.to_string();
        let connect = async move {
            let mut session =
                Session::describe(url, SessionOptions::default().creds(creds).user_agent("linli".into())).await.map_err(|e| stream_error("DESCRIBE", e))?;
            let Some(index) = session.streams().iter().position(|s| s.media() == "video" && s.encoding_name().eq_ignore_ascii_case("h264")) else {
                let found: Vec<String> = session.streams().iter().map(|s| format!("{}/{}", s.media(), s.encoding_name())).collect();
                return Err(VideoError::Unsupported(format!("the stream offers no H.264 video (it offers {})", found.join(", "))));
            };
            let framerate = session.streams()[index].framerate();
            session.setup(index, SetupOptions::default().frame_format(FrameFormat::SIMPLE)).await.map_err(|e| stream_error("SETUP", e))?;
            let playing = session.play(PlayOptions::default()).await.map_err(|e| stream_error("PLAY", e))?;
            let demuxed = playing.demuxed().map_err(|e| stream_error("PLAY", e))?;
            Ok::<_, VideoError>((demuxed, framerate))
        };
        let (demuxed, framerate) =
            runtime.block_on(async { tokio::time::timeout(CONNECT_TIMEOUT, connect).await }).map_err(|_| stream_error(&shown, "no answer within 10 s"))??;
        let decoder = Decoder::new().map_err(|e| VideoError::Unsupported(format!("the H.264 decoder cannot start: {e}")))?;
        let fps = framerate.map(f64::from).filter(|f| f.is_finite() && *f > 0.0).unwrap_or(25.0);
        Ok(Self { runtime, stream: Some(Box::pin(demuxed)), decoder, format: VideoFormat { width: 0, height: 0, fps } })
    }
}

impl VideoSource for RtspReader {
    /// Width and height are known from the first frame on.
    fn format(&self) -> VideoFormat {
        self.format
    }

    fn next_frame(&mut self) -> Result<Option<Frame>> {
        let asked = Instant::now();
        loop {
            // Pictures that never decode are as bad as none arriving.
            if asked.elapsed() > READ_TIMEOUT {
                return Err(stream_error("the stream", "no picture could be decoded for 10 s"));
            }
            let Some(stream) = self.stream.as_mut() else { return Ok(None) };
            let next = self.runtime.block_on(async { tokio::time::timeout(READ_TIMEOUT, stream.next()).await });
            let item = match next {
                Err(_) => return Err(stream_error("the stream", "no data for 10 s")),
                Ok(None) => return Ok(None),
                Ok(Some(Err(e))) => return Err(stream_error("the stream", e)),
                Ok(Some(Ok(item))) => item,
            };
            let CodecItem::VideoFrame(frame) = item else { continue };
            let t = frame.timestamp().elapsed_secs();
            match self.decoder.decode(frame.data()) {
                Ok(Some(yuv)) => {
                    let (width, height) = yuv.dimensions();
                    (self.format.width, self.format.height) = (width, height);
                    return Ok(Some(Frame::from_strided(width, height, t, yuv.y(), yuv.strides().0)));
                }
                Ok(None) => {}
                // A picture lost to packet loss: the next key frame recovers.
                Err(e) => tracing::debug!(error = %e, "an RTSP picture cannot be decoded; skipped"),
            }
        }
    }
}

impl Drop for RtspReader {
    fn drop(&mut self) {
        let _inside = self.runtime.enter();
        self.stream.take();
    }
}

/// How [`serve_mp4`] streams.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Send frames at the video's pace (else as fast as the client takes them).
    pub realtime: bool,
    /// Close each connection after this many frames, as a camera dropping would.
    pub drop_after_frames: Option<u64>,
    /// Start again at the end of the file (else close the connection).
    pub repeat: bool,
}

/// Streams `video` (H.264 in MP4) to each client that connects to `listener`, one at a time,
/// until the listener fails. Clients must ask for TCP-interleaved transport (retina, ffmpeg with
/// `-rtsp_transport tcp`, and most NVRs do).
pub fn serve_mp4(listener: TcpListener, video: &Path, options: ServeOptions) -> std::io::Result<()> {
    let track = Mp4Track::read(video)?;
    for connection in listener.incoming() {
        let connection = connection?;
        if let Err(error) = serve_client(connection, &track, options) {
            tracing::debug!(%error, "an RTSP client went away");
        }
    }
    Ok(())
}

/// An MP4 file's H.264 track, in memory: parameter sets and each sample's NAL units.
struct Mp4Track {
    sps: Vec<u8>,
    pps: Vec<u8>,
    /// Per sample: its time in 90 kHz ticks and its NAL units.
    samples: Vec<(u32, Vec<Vec<u8>>)>,
    fps: f64,
}

impl Mp4Track {
    fn read(path: &Path) -> std::io::Result<Self> {
        let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {why}", path.display()));
        let file = std::fs::File::open(path)?;
        let size = file.metadata()?.len();
        let mut reader = mp4::Mp4Reader::read_header(std::io::BufReader::new(file), size).map_err(|e| invalid(e.to_string()))?;
        let (id, track) =
            reader.tracks().iter().find(|(_, t)| t.box_type().ok() == Some(mp4::FourCC::from(*b"avc1"))).ok_or_else(|| invalid("no H.264 track".into()))?;
        let (id, timescale, count) = (*id, f64::from(track.timescale()), track.sample_count());
        let sps = track.sequence_parameter_set().map_err(|e| invalid(e.to_string()))?.to_vec();
        let pps = track.picture_parameter_set().map_err(|e| invalid(e.to_string()))?.to_vec();
        let fps = track.frame_rate();
        let mut samples = Vec::with_capacity(count as usize);
        for n in 1..=count {
            let sample = reader.read_sample(id, n).map_err(|e| invalid(e.to_string()))?.ok_or_else(|| invalid(format!("sample {n} is missing")))?;
            // Four-byte lengths, as Mp4Writer (and nearly every muxer) writes them.
            let nals = super::mp4::split_avcc(&sample.bytes, 4).map_err(|why| invalid(format!("sample {n}: {why}")))?.into_iter().map(<[u8]>::to_vec).collect();
            let ticks = ((sample.start_time as f64 + f64::from(sample.rendering_offset)) / timescale * 90_000.0) as u32;
            samples.push((ticks, nals));
        }
        Ok(Self { sps, pps, samples, fps: if fps > 0.0 { fps } else { 25.0 } })
    }
}

/// The largest RTP payload sent: larger NAL units go in fragments (FU-A).
const MAX_PAYLOAD: usize = 1_400;

fn serve_client(connection: TcpStream, track: &Mp4Track, options: ServeOptions) -> std::io::Result<()> {
    let mut reader = BufReader::new(connection.try_clone()?);
    let mut writer = connection;
    let session = "4C494E4C";
    loop {
        let Some((method, url, cseq)) = read_request(&mut reader)? else { return Ok(()) };
        let ok = format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n");
        match method.as_str() {
            "OPTIONS" => write!(writer, "{ok}Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n")?,
            "DESCRIBE" => {
                let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
                let profile: String = track.sps.iter().skip(1).take(3).map(|b| format!("{b:02X}")).collect();
                let sdp = format!(
                    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=linli\r\nt=0 0\r\na=control:*\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
                     a=fmtp:96 packetization-mode=1;profile-level-id={profile};sprop-parameter-sets={},{}\r\na=framerate:{}\r\na=control:trackID=0\r\n",
                    encode(&track.sps),
                    encode(&track.pps),
                    track.fps
                );
                let base = url.trim_end_matches('/');
                write!(writer, "{ok}Content-Base: {base}/\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}", sdp.len())?;
            }
            "SETUP" => write!(writer, "{ok}Transport: RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=4C494E4C\r\nSession: {session};timeout=60\r\n\r\n")?,
            "PLAY" => {
                write!(writer, "{ok}Session: {session}\r\n\r\n")?;
                return stream(&mut writer, track, options);
            }
            "TEARDOWN" => {
                write!(writer, "{ok}\r\n")?;
                return Ok(());
            }
            _ => write!(writer, "RTSP/1.0 501 Not Implemented\r\nCSeq: {cseq}\r\n\r\n")?,
        }
    }
}

/// Reads one request's method, URL and CSeq (headers are otherwise ignored); `None` at the end.
fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<(String, String, String)>> {
    let mut first = String::new();
    if reader.read_line(&mut first)? == 0 {
        return Ok(None);
    }
    let mut parts = first.split_whitespace();
    let (method, url) = (parts.next().unwrap_or_default().to_string(), parts.next().unwrap_or_default().to_string());
    let (mut cseq, mut length) = (String::from("0"), 0usize);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "cseq" => cseq = value.trim().to_string(),
                "content-length" => length = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    reader.take(length as u64).read_to_end(&mut Vec::new())?;
    Ok(Some((method, url, cseq)))
}

/// Sends the samples as RTP on interleaved channel 0.
fn stream(out: &mut TcpStream, track: &Mp4Track, options: ServeOptions) -> std::io::Result<()> {
    let mut sequence = 0u16;
    let mut sent = 0u64;
    let mut base_ticks = 0u32;
    loop {
        let started = Instant::now();
        for (ticks, nals) in &track.samples {
            if options.drop_after_frames.is_some_and(|limit| sent >= limit) {
                return Ok(());
            }
            if options.realtime {
                let due = started + Duration::from_secs_f64(f64::from(*ticks) / 90_000.0);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            let timestamp = base_ticks.wrapping_add(*ticks);
            for (i, nal) in nals.iter().enumerate() {
                let last_of_frame = i + 1 == nals.len();
                send_nal(out, nal, timestamp, last_of_frame, &mut sequence)?;
            }
            sent += 1;
        }
        if !options.repeat {
            return Ok(());
        }
        let frame_ticks = (90_000.0 / track.fps) as u32;
        base_ticks = base_ticks.wrapping_add(track.samples.last().map_or(0, |s| s.0) + frame_ticks);
    }
}

fn send_nal(out: &mut TcpStream, nal: &[u8], timestamp: u32, marker: bool, sequence: &mut u16) -> std::io::Result<()> {
    let Some((&header, body)) = nal.split_first() else { return Ok(()) };
    if nal.len() <= MAX_PAYLOAD {
        return send_rtp(out, nal, timestamp, marker, sequence);
    }
    let indicator = (header & 0xE0) | 28;
    let chunks: Vec<&[u8]> = body.chunks(MAX_PAYLOAD - 2).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let (start, end) = (i == 0, i + 1 == chunks.len());
        let fu_header = (u8::from(start) << 7) | (u8::from(end) << 6) | (header & 0x1F);
        let mut payload = Vec::with_capacity(chunk.len() + 2);
        payload.extend_from_slice(&[indicator, fu_header]);
        payload.extend_from_slice(chunk);
        send_rtp(out, &payload, timestamp, marker && end, sequence)?;
    }
    Ok(())
}

fn send_rtp(out: &mut TcpStream, payload: &[u8], timestamp: u32, marker: bool, sequence: &mut u16) -> std::io::Result<()> {
    let length = (12 + payload.len()) as u16;
    let mut packet = Vec::with_capacity(4 + usize::from(length));
    packet.extend_from_slice(&[b'$', 0]);
    packet.extend_from_slice(&length.to_be_bytes());
    packet.extend_from_slice(&[0x80, (u8::from(marker) << 7) | 96]);
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(&timestamp.to_be_bytes());
    packet.extend_from_slice(&0x4C49_4E4Cu32.to_be_bytes());
    packet.extend_from_slice(payload);
    *sequence = sequence.wrapping_add(1);
    out.write_all(&packet)
}
