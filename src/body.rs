//! The `/metrics` body of one snapshot: gzip'd once and kept while that snapshot is
//! served, and shared by every scrape of it; the process's own families are encoded for
//! each scrape and appended.
//!
//! With per-user series a large report's body is several times its CSV and slow to
//! encode, so it is compressed once per snapshot, a small part of that: once a client has
//! asked for a large body (or any gzip'd one), each reload compresses its snapshot before
//! publishing it. A gzip client (Prometheus) gets the compressed form as it is; a client
//! without gzip gets it inflated again 64 KiB at a time, as fast as it reads. Either is
//! shared, made work, so writing it to a slow client holds no request slot. Until the
//! first compression of a format is ready the body is encoded while it is sent (small
//! bodies always are, at once). The cached part is raw deflate ended by a sync flush, so
//! the live part, compressed on its own, follows it in the same gzip member: one stream
//! every gzip reader takes, with the CRC of the whole combined from the two.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt::{self, Write};
use std::mem;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll};

use bytes::Bytes;
use crc32fast::Hasher;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use http_body::{Frame, SizeHint};
use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::registry::Registry;
use tokio::sync::mpsc;

use crate::exposition::{Exposition, Format};
use crate::process::ProcessCollector;
use crate::snapshot::Snapshot;

/// The pieces a streamed body is written and sent in. Each costs a hand-over between the
/// encoding thread and the connection, so they are large: smaller ones made the scrape of
/// many reports' aggregates markedly slower. Only large bodies are streamed
/// (small ones are encoded at once, see `is_small`), so the concurrent scrapes of
/// tests/load.rs hold none of these.
const CHUNK: usize = 64 * 1024;
/// Chunks an uncompressed scrape may encode ahead of its client: with [`CHUNK`], at most
/// 256 KiB a scrape (and the one being filled), however large the body.
const CHUNKS_AHEAD: usize = 4;
/// The pieces a snapshot's compressed body is kept in: above the allocator's mmap
/// threshold (1 MiB, `allocator.rs`), so that a replaced body's memory goes back to the
/// system at once rather than staying in the heap of whichever thread compressed it.
const DEFLATED_CHUNK: usize = 2 << 20;
/// The fastest level: metrics text is so repetitive that level 1 already shrinks it about
/// tenfold, and a higher one costs far more time on the first scrape after a reload for
/// little less to send.
const LEVEL: u32 = 1;
/// A gzip member's header: deflate, no flags, no time, unknown OS (RFC 1952).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

/// The bodies of the snapshot being served.
pub struct Bodies {
    exposition: Arc<Exposition>,
    cache: Mutex<Cache>,
    /// Formats some client has asked for gzip'd since the start: those are compressed
    /// again as soon as a reload swaps the snapshot, not at the next scrape.
    asked: [AtomicBool; 2],
    /// A compression is under way, per format: one at a time, so a burst of reloads or
    /// scrapes never runs several, each with its own compressed copy.
    compressing: [AtomicBool; 2],
}

/// The compressed bodies of the snapshot last prepared, and of the one before it: between
/// `prepare` and the swap, and for scrapes that loaded it just before, the one before is
/// still served, and its body with it.
#[derive(Default)]
struct Cache {
    current: Entry,
    previous: Entry,
}

/// One snapshot's compressed bodies, made when it is prepared or on first use. Keyed by a
/// weak pointer: the cache neither keeps an old snapshot's data alive nor mistakes a new
/// one for it.
#[derive(Default)]
struct Entry {
    of: Weak<Snapshot>,
    gzip: [Arc<OnceLock<Arc<Deflated>>>; 2],
}

/// One snapshot's families as raw deflate, ended by a sync flush so more can follow.
struct Deflated {
    chunks: Vec<Bytes>,
    crc: Hasher,
    plain_len: u64,
}

fn index(format: Format) -> usize {
    match format {
        Format::OpenMetrics => 0,
        Format::Classic => 1,
    }
}

impl Bodies {
    pub fn new(exposition: Arc<Exposition>) -> Bodies {
        Bodies {
            exposition,
            cache: Mutex::new(Cache::default()),
            asked: [AtomicBool::new(false), AtomicBool::new(false)],
            compressing: [AtomicBool::new(false), AtomicBool::new(false)],
        }
    }

    /// `snapshot`'s body in `format`, from its compressed form where that is ready:
    /// gzip'd as it is if `gzip`, else inflated as it is sent; the live families follow.
    /// The first scrape of a format that needs one finds none (reloads compress only the
    /// formats asked for): it and the scrapes during that first compression are encoded as
    /// they are sent rather than kept waiting, and the compression is started for the
    /// later ones. A snapshot older than the last two prepared (a scrape that loaded it
    /// before two swaps) is only streamed.
    pub fn body(
        self: &Arc<Self>,
        snapshot: Arc<Snapshot>,
        format: Format,
        gzip: bool,
    ) -> MetricsBody {
        if gzip || !is_small(&snapshot) {
            self.asked[index(format)].store(true, Ordering::Relaxed);
            if let Some(cell) = self.cell(&snapshot, format) {
                if let Some(deflated) = cell.get() {
                    let live = live(&self.exposition, &snapshot, format);
                    return match gzip {
                        true => MetricsBody::Gzip(GzipBody::new(deflated, &live)),
                        false => MetricsBody::Inflated(InflatedBody::new(deflated, live)),
                    };
                }
                self.compress(cell, &snapshot, format);
            }
        }
        MetricsBody::Plain(self.stream(snapshot, format))
    }

    /// `snapshot`'s body in `format`, uncompressed, encoded while it is sent. A client
    /// that stops reading stops the encoding; one that goes away ends it.
    fn stream(&self, snapshot: Arc<Snapshot>, format: Format) -> StreamedBody {
        let exposition = Arc::clone(&self.exposition);
        let (sender, receiver) = mpsc::channel(CHUNKS_AHEAD);
        if is_small(&snapshot) {
            // Encoded at once, here: a thread per scrape costs more than a small body, and
            // hundreds of concurrent scrapes on threads left memory behind (tests/load.rs).
            let mut text = String::new();
            let encoded = (exposition.encode_snapshot(Arc::clone(&snapshot), format, &mut text))
                .and_then(|()| text.write_str(&live(&exposition, &snapshot, format)));
            if encoded.is_ok() {
                // The channel is new and has room: this cannot fail.
                let _ = sender.try_send(Bytes::from(text));
            }
            return StreamedBody { receiver };
        }
        tokio::task::spawn_blocking(move || {
            let mut out = ChunkSender {
                sender,
                chunk: String::with_capacity(CHUNK),
            };
            // The only error is the client gone: then there is nobody to finish for.
            let _ = exposition
                .encode_snapshot(Arc::clone(&snapshot), format, &mut out)
                .and_then(|()| out.write_str(&live(&exposition, &snapshot, format)))
                .and_then(|()| out.send());
        });
        StreamedBody { receiver }
    }

    /// Caches the bodies of `next`, about to be published, keeping those of the snapshot
    /// served until then and dropping older ones. In every format a client has asked for gzip'd, its compressed body is made
    /// first, here, while the snapshot before it is still served: the first scrapes of the
    /// new snapshot then find it ready, instead of each streaming the whole uncompressed
    /// body beside the compression.
    pub fn prepare(&self, next: &Arc<Snapshot>) {
        let gzip = [Format::OpenMetrics, Format::Classic].map(|format| {
            let cell = OnceLock::new();
            if self.asked[index(format)].load(Ordering::Relaxed) {
                if let Some(deflated) = self.deflate_guarded(Arc::clone(next), format) {
                    let _ = cell.set(deflated);
                }
            }
            Arc::new(cell)
        });
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let current = Entry {
            of: Arc::downgrade(next),
            gzip,
        };
        cache.previous = mem::replace(&mut cache.current, current);
    }

    /// `snapshot`'s compressed body in `format`, or `None` (logged) if encoding it panicked.
    fn deflate_guarded(&self, snapshot: Arc<Snapshot>, format: Format) -> Option<Arc<Deflated>> {
        let deflated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            deflate(&self.exposition, snapshot, format)
        }));
        if deflated.is_err() {
            tracing::error!("compressing the metrics failed; serving them uncompressed");
        }
        deflated.ok().map(Arc::new)
    }

    /// Compresses `snapshot` into `cell` in the background, unless that is done or under
    /// way: a large body takes a second or so.
    fn compress(
        self: &Arc<Self>,
        cell: Arc<OnceLock<Arc<Deflated>>>,
        snapshot: &Arc<Snapshot>,
        format: Format,
    ) {
        if cell.get().is_some() || self.compressing[index(format)].swap(true, Ordering::AcqRel) {
            return;
        }
        let bodies = Arc::clone(self);
        let snapshot = Arc::clone(snapshot);
        // A thread of its own, at the lowest priority: background work that must not slow
        // the scrapes streamed meanwhile (on two cores it would, by half). Not the blocking
        // pool, whose threads are reused and could not be given their priority back.
        let spawned = std::thread::Builder::new()
            .name("compress-metrics".into())
            .spawn(move || {
                let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19);
                if let Some(deflated) = bodies.deflate_guarded(Arc::clone(&snapshot), format) {
                    let _ = cell.set(deflated);
                }
                bodies.compressing[index(format)].store(false, Ordering::Release);
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start compressing the metrics; serving them uncompressed");
            self.compressing[index(format)].store(false, Ordering::Release);
        }
    }

    /// The cache cell of `snapshot` in `format`, if it is the snapshot last prepared or
    /// the one before. The one before's bodies go once nothing serves it any more.
    fn cell(
        &self,
        snapshot: &Arc<Snapshot>,
        format: Format,
    ) -> Option<Arc<OnceLock<Arc<Deflated>>>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.previous.of.strong_count() == 0 {
            cache.previous = Entry::default();
        }
        let entry = [&cache.current, &cache.previous]
            .into_iter()
            .find(|entry| std::ptr::eq(entry.of.as_ptr(), Arc::as_ptr(snapshot)));
        entry.map(|entry| Arc::clone(&entry.gzip[index(format)]))
    }
}

/// The families made at each scrape: `snapshot`'s counts that change with the time (a
/// few per report), the process's, and OpenMetrics' closing `# EOF`.
fn live(exposition: &Exposition, snapshot: &Arc<Snapshot>, format: Format) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(ProcessCollector));
    let mut out = String::with_capacity(2048);
    // Writing to a String cannot fail.
    let _ = exposition.encode_aging(Arc::clone(snapshot), format, &mut out);
    let _ = match format {
        Format::OpenMetrics => {
            text::encode_registry(&mut out, &registry).and_then(|()| text::encode_eof(&mut out))
        }
        Format::Classic => prometheus_text::encode(&mut out, &registry),
    };
    out
}

fn deflate(exposition: &Exposition, snapshot: Arc<Snapshot>, format: Format) -> Deflated {
    let mut out = Deflater::new(DEFLATED_CHUNK);
    // Writing into memory cannot fail.
    let _ = exposition.encode_snapshot(snapshot, format, &mut out);
    out.finish()
}

/// Text in, raw deflate out, in chunks of `chunk` bytes.
struct Deflater {
    chunk: usize,
    compress: Compress,
    crc: Hasher,
    plain_len: u64,
    out: Vec<u8>,
    chunks: Vec<Bytes>,
}

impl Deflater {
    /// Writing its output in chunks of `chunk` bytes.
    fn new(chunk: usize) -> Deflater {
        Deflater {
            chunk,
            compress: Compress::new(Compression::new(LEVEL), false),
            crc: Hasher::new(),
            plain_len: 0,
            out: Vec::with_capacity(chunk),
            chunks: Vec::new(),
        }
    }

    fn deflate(&mut self, mut input: &[u8], flush: FlushCompress) {
        loop {
            if self.out.len() == self.out.capacity() {
                let full = mem::replace(&mut self.out, Vec::with_capacity(self.chunk));
                self.chunks.push(Bytes::from(full));
            }
            let before = self.compress.total_in();
            let status = self
                .compress
                .compress_vec(input, &mut self.out, flush)
                .expect("deflate never fails on valid state");
            input = &input[(self.compress.total_in() - before) as usize..];
            let flushed = match flush {
                FlushCompress::None => true,
                FlushCompress::Finish => status == Status::StreamEnd,
                // Done once a call leaves room in the output: all of it was written.
                _ => self.out.len() < self.out.capacity(),
            };
            if input.is_empty() && flushed {
                return;
            }
        }
    }

    /// Ends the stream with a sync flush (byte-aligned, not final), so that another
    /// deflate stream can follow it.
    fn finish(mut self) -> Deflated {
        self.deflate(&[], FlushCompress::Sync);
        self.out.shrink_to_fit();
        self.chunks.push(Bytes::from(self.out));
        self.chunks.shrink_to_fit();
        Deflated {
            chunks: self.chunks,
            crc: self.crc,
            plain_len: self.plain_len,
        }
    }
}

impl Write for Deflater {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.crc.update(text.as_bytes());
        self.plain_len += text.len() as u64;
        self.deflate(text.as_bytes(), FlushCompress::None);
        Ok(())
    }
}

/// What a scrape is answered with.
pub enum MetricsBody {
    /// The snapshot's compressed body, shared.
    Gzip(GzipBody),
    /// The snapshot's compressed body, shared, inflated as the client reads.
    Inflated(InflatedBody),
    /// Encoded as it is sent: small bodies, and large ones until their first compression.
    Plain(StreamedBody),
}

/// A snapshot's compressed body inflated again, [`CHUNK`] bytes at a time as the client
/// reads, then the live part: a client without gzip costs an inflater (about 40 KiB) and
/// the chunk being sent, never an encoding of its own.
pub struct InflatedBody {
    deflated: Arc<Deflated>,
    /// Where the input is: the chunk, and the offset in it.
    chunk: usize,
    offset: usize,
    inflater: Decompress,
    inflated_all: bool,
    live: Option<Bytes>,
    remaining: u64,
}

impl InflatedBody {
    fn new(deflated: &Arc<Deflated>, live: String) -> InflatedBody {
        InflatedBody {
            deflated: Arc::clone(deflated),
            chunk: 0,
            offset: 0,
            inflater: Decompress::new(false),
            inflated_all: false,
            remaining: deflated.plain_len + live.len() as u64,
            live: Some(Bytes::from(live)),
        }
    }

    /// Up to [`CHUNK`] bytes of the snapshot's part; empty once it is all out.
    fn inflate(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CHUNK);
        while !self.inflated_all && out.len() < out.capacity() {
            let chunks = &self.deflated.chunks;
            let input = chunks
                .get(self.chunk)
                .map_or(&[][..], |c| &c[self.offset..]);
            let (read, written) = (self.inflater.total_in(), self.inflater.total_out());
            // Made here from text, so never corrupt; were it so, the body would end there.
            let inflated = (self.inflater).decompress_vec(input, &mut out, FlushDecompress::Sync);
            let read = (self.inflater.total_in() - read) as usize;
            let progress = read > 0 || self.inflater.total_out() > written;
            self.offset += read;
            if inflated.is_err() {
                self.inflated_all = true;
            } else if self.chunk < chunks.len() && read == input.len() {
                self.chunk += 1;
                self.offset = 0;
            } else if !progress {
                // All input read, and nothing more held back: done.
                self.inflated_all = true;
            }
        }
        out
    }
}

impl http_body::Body for InflatedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let inflated = this.inflate();
        let chunk = match inflated.is_empty() {
            false => Some(Bytes::from(inflated)),
            true => this.live.take(),
        };
        if let Some(chunk) = &chunk {
            this.remaining = this.remaining.saturating_sub(chunk.len() as u64);
        }
        Poll::Ready(chunk.map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.inflated_all && self.live.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// A whole gzip member: header, the snapshot's deflate, the live part's, and the trailer.
pub struct GzipBody {
    chunks: VecDeque<Bytes>,
    len: u64,
}

impl GzipBody {
    fn new(cached: &Deflated, live: &str) -> GzipBody {
        let mut tail = Deflater::new(CHUNK);
        tail.deflate(live.as_bytes(), FlushCompress::Finish);
        let mut crc = cached.crc.clone();
        let mut live_crc = Hasher::new();
        live_crc.update(live.as_bytes());
        crc.combine(&live_crc);
        let plain_len = cached.plain_len + live.len() as u64;
        let mut end = tail.out;
        end.extend_from_slice(&crc.finalize().to_le_bytes());
        // ISIZE: the length modulo 2^32, as RFC 1952 has it.
        end.extend_from_slice(&(plain_len as u32).to_le_bytes());

        // The live part is more than a chunk where many reports have aging counts (10,000
        // reports: about a megabyte): its full chunks come before the last one.
        let mut chunks = VecDeque::with_capacity(cached.chunks.len() + tail.chunks.len() + 2);
        chunks.push_back(Bytes::from_static(&GZIP_HEADER));
        chunks.extend(cached.chunks.iter().cloned());
        chunks.extend(tail.chunks);
        chunks.push_back(Bytes::from(end));
        let len = chunks.iter().map(|c| c.len() as u64).sum();
        GzipBody { chunks, len }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl http_body::Body for GzipBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let chunk = this.chunks.pop_front();
        if let Some(chunk) = &chunk {
            this.len -= chunk.len() as u64;
        }
        Poll::Ready(chunk.map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

/// The receiving end of an uncompressed body being encoded.
pub struct StreamedBody {
    receiver: mpsc::Receiver<Bytes>,
}

impl http_body::Body for StreamedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.get_mut()
            .receiver
            .poll_recv(context)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}

/// Whether `snapshot`'s body is at most about 256 KiB (a report's aggregates take about
/// 4 KiB, each user's series about 1.6 KiB), small enough to encode in one piece.
fn is_small(snapshot: &Snapshot) -> bool {
    const SMALL: usize = 256 * 1024;
    let (reports, users) = (snapshot.reports.values())
        .filter_map(|state| state.data.as_deref())
        .fold((0, 0), |(reports, users), data| {
            (reports + 1, users + data.users.len())
        });
    reports * 4 * 1024 + users * 1600 <= SMALL
}

/// The encoding end: text in, chunks of about [`CHUNK`] bytes out, waiting while
/// [`CHUNKS_AHEAD`] are unread.
struct ChunkSender {
    sender: mpsc::Sender<Bytes>,
    chunk: String,
}

impl ChunkSender {
    fn send(&mut self) -> fmt::Result {
        if self.chunk.is_empty() {
            return Ok(());
        }
        // The next chunk grows as it is written: the last one sent needs no successor.
        let chunk = mem::take(&mut self.chunk);
        self.sender
            .blocking_send(Bytes::from(chunk))
            .map_err(|_| fmt::Error)
    }
}

impl Write for ChunkSender {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.chunk.push_str(text);
        match self.chunk.len() >= CHUNK {
            true => self.send(),
            false => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn gunzip(body: &GzipBody) -> String {
        let bytes: Vec<u8> = body.chunks.iter().flat_map(|c| c.iter().copied()).collect();
        assert_eq!(bytes.len() as u64, body.len());
        // A single-member reader: the body must be one gzip member, not two glued.
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .expect("a valid gzip member");
        text
    }

    fn deflated(text: &str) -> Deflated {
        let mut out = Deflater::new(CHUNK);
        // Written in pieces, as the encoder writes.
        for piece in text.as_bytes().chunks(1000) {
            out.write_str(std::str::from_utf8(piece).unwrap()).unwrap();
        }
        out.finish()
    }

    #[test]
    fn cached_part_and_live_part_make_one_gzip_member() {
        let cached: String = (0..50_000)
            .map(|i| format!("credential_report_user_info{{username=\"user{i}\"}} 1\n"))
            .collect();
        let part = deflated(&cached);
        assert!(part.chunks.len() > 1, "spans chunks");
        let body = GzipBody::new(&part, "process_open_fds 7\n# EOF\n");
        assert_eq!(
            gunzip(&body),
            format!("{cached}process_open_fds 7\n# EOF\n")
        );
        // The cached part is reused as it is: a second body from it is as good.
        let again = GzipBody::new(&part, "process_open_fds 8\n");
        assert_eq!(gunzip(&again), format!("{cached}process_open_fds 8\n"));
    }

    #[test]
    fn an_inflated_body_is_the_text_then_the_live_part() {
        let cached: String = (0..50_000)
            .map(|i| format!("credential_report_user_info{{username=\"user{i}\"}} 1\n"))
            .collect();
        let part = Arc::new(deflated(&cached));
        assert!(part.chunks.len() > 1, "spans chunks");
        let mut body = InflatedBody::new(&part, "process_open_fds 7\n".to_owned());
        let expected = format!("{cached}process_open_fds 7\n");
        let hint = http_body::Body::size_hint(&body).exact();
        assert_eq!(hint, Some(expected.len() as u64));
        let mut context = Context::from_waker(std::task::Waker::noop());
        let mut text = Vec::new();
        while let Poll::Ready(Some(Ok(frame))) =
            http_body::Body::poll_frame(Pin::new(&mut body), &mut context)
        {
            let data = frame.into_data().unwrap();
            assert!(data.len() <= CHUNK, "at most a chunk at a time");
            text.extend_from_slice(&data);
        }
        assert!(http_body::Body::is_end_stream(&body));
        assert_eq!(String::from_utf8(text).unwrap(), expected);
    }

    #[test]
    fn a_live_part_larger_than_a_chunk_is_sent_whole() {
        // Random-looking digits, so that the live part compresses to more than a chunk.
        let live: String = (0..200_000u64)
            .map(|i| format!("a{{r=\"{}\"}} 1\n", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        let body = GzipBody::new(&deflated("cached 1\n"), &live);
        assert!(body.len() > CHUNK as u64 * 2, "{}", body.len());
        assert_eq!(gunzip(&body), format!("cached 1\n{live}"));
    }

    #[test]
    fn empty_parts_still_make_valid_gzip() {
        assert_eq!(gunzip(&GzipBody::new(&deflated(""), "")), "");
        assert_eq!(gunzip(&GzipBody::new(&deflated("a 1\n"), "")), "a 1\n");
    }

    #[test]
    fn live_part_ends_openmetrics_with_eof_and_classic_without() {
        let snapshot = Arc::new(Snapshot::default());
        let options = crate::exposition::ExpositionOptions {
            per_user: true,
            show_secret_ids: false,
            max_per_user_series: 0,
            now: None,
        };
        let exposition = Exposition::new(options);
        let live = |format| live(&exposition, &snapshot, format);
        let openmetrics = live(Format::OpenMetrics);
        assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
        assert!(openmetrics.contains("# TYPE process_cpu_seconds counter"));
        assert!(openmetrics.contains("process_resident_memory_bytes "));
        let classic = live(Format::Classic);
        assert!(!classic.contains("# EOF"));
        assert!(classic.contains("process_cpu_seconds_total "));
        assert!(classic.contains("process_start_time_seconds "));
    }
}
