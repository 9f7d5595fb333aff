//! Syslog ingest over UDP and TCP: raw records in, on disk in batches.
//!
//! A listener is given as a flag value, `udp://127.0.0.1:5514=7` or
//! `tcp://0.0.0.0:6514=7,format=cef` ([`SyslogListener`]): transport, address, the
//! tenant every record belongs to, and the format hint stored with each record
//! (`syslog` unless named; one of the decoders' line formats). [`bind`] opens the socket
//! (separately, so a test can bind port 0 and learn the port) and
//! [`BoundSyslog::run`] serves it until its shutdown future completes.
//!
//! **Records.** Bytes are kept as received, UTF-8 or not; the pipeline decodes them
//! later, as it does records that came over HTTP. Each record's source is the peer,
//! `syslog+udp://IP:PORT` or `syslog+tcp://IP:PORT`. Nothing is acknowledged to a
//! syslog sender, so "stored" means what [`Store::append_records`] means: on disk when
//! it returns.
//!
//! **UDP.** Each datagram is one record, with one trailing `\n` or `\r\n` removed;
//! empty datagrams are skipped. Datagrams are gathered for up to [`BATCH_WINDOW`]
//! (or [`MAX_BATCH_RECORDS`] records, or [`MAX_BATCH_BYTES`]) and appended one
//! transaction per peer, in arrival order. While a batch is being stored the next one
//! is gathered; if that one is ready first, receiving waits for the store (datagrams
//! then queue in the kernel, which drops them when its buffer is full: UDP syslog is
//! lossy by nature).
//!
//! **TCP** (RFC 6587). Each frame of a connection is recognised on its own:
//! a frame that starts with a run of ASCII digits and a space is *octet-counted*
//! (`MSG-LEN SP SYSLOG-MSG`, the message may hold line feeds and stays one record;
//! one trailing `\n` or `\r\n` inside the count is removed); any other frame is
//! *non-transparent*, ended by LF (a CR before it removed) or by NUL. So a
//! non-transparent message must not start with digits and a space; real ones start
//! with `<PRI>`. Frames are batched like datagrams, and while a batch is being stored
//! the connection is not read: that is the backpressure, TCP's window closes on the
//! sender while the store is busy.
//!
//! **Limits.** A record is at most [`MAX_RECORD_BYTES`]. A longer LF-framed line is
//! skipped up to its LF and counted as an error; an octet count above the limit
//! cannot be skipped reliably, so the connection is closed after storing the frames
//! before it. A connection that sends nothing for [`IDLE_TIMEOUT`] is closed; at most
//! [`MAX_CONNECTIONS`] are served at once, and any more are closed at once and counted
//! as errors. When the peer closes, a last LF-framed line without its terminator is
//! stored (it was sent whole); a partial octet-counted frame is dropped and counted.
//! Memory per connection is bounded by one record, one read and one batch (a few MiB
//! at worst).
//!
//! **Failures.** No input panics. A failed append (say the tenant was deleted) is
//! logged to stderr with the peer, never the data, and counted in
//! [`SyslogCounters::errors`]; for TCP that connection is closed, the listener keeps
//! serving the others. The counters are shared with the server to be exported as
//! metrics.
//!
//! **Shutdown.** When the shutdown future completes the listener stops accepting and
//! reading, every batch already read is stored, and `run` returns; data not yet read
//! (and a partial frame) is dropped, the partial frame counted as an error.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::live::LiveHandle;
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use watchfloor_decode::Format;
use watchfloor_store::{MAX_RECORD_BYTES, Store, TenantId, Timestamp};

/// The format hint stored with each record unless the listener names another.
pub const DEFAULT_FORMAT: &str = "syslog";
/// How long a batch gathers records before it is stored.
pub const BATCH_WINDOW: Duration = Duration::from_millis(20);
/// The most records one append holds.
pub const MAX_BATCH_RECORDS: usize = 1_000;
/// A batch is stored once its records hold this many bytes.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// A TCP connection that sends nothing for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// The most TCP connections served at once.
pub const MAX_CONNECTIONS: usize = 1_024;

/// Bytes asked for by one read of a TCP connection.
const READ_CHUNK: usize = 64 * 1024;
/// Large enough for any UDP datagram (65,507 bytes over IPv4, 65,527 over IPv6).
const UDP_BUFFER: usize = 64 * 1024;
/// The pause after a failed `accept` or `recv`, so a persistent failure (out of file
/// descriptors) does not spin.
const ERROR_BACKOFF: Duration = Duration::from_millis(50);
const LOG_PREFIX: &str = "watchfloor-server: syslog";

/// How syslog reaches a listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        })
    }
}

/// One syslog listener: where to listen, and for which tenant. Parsed from
/// `udp://IP:PORT=TENANT_ID` or `tcp://IP:PORT=TENANT_ID`, optionally followed by
/// `,format=NAME` (a line format of the decoders; `syslog` if not given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogListener {
    pub transport: Transport,
    pub addr: SocketAddr,
    /// The tenant every record received here belongs to.
    pub tenant: TenantId,
    /// The format hint stored with each record.
    pub format: Option<String>,
}

/// Why a listener flag value was refused; each names the part that is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListenerSpecError {
    #[error("missing transport: expected udp://IP:PORT=TENANT_ID or tcp://IP:PORT=TENANT_ID")]
    MissingTransport,
    #[error("unknown transport `{0}`: expected udp or tcp")]
    UnknownTransport(String),
    #[error("missing `=TENANT_ID` after the address")]
    MissingTenant,
    #[error("bad address `{0}`: expected IP:PORT, like 127.0.0.1:5514 or [::1]:5514")]
    BadAddress(String),
    #[error("bad tenant id `{0}`: expected a positive integer")]
    BadTenant(String),
    #[error("unknown option `{0}`: expected format=NAME")]
    UnknownOption(String),
    #[error("option `{0}` is given twice")]
    RepeatedOption(String),
    #[error("unknown format `{name}`: expected one of {expected}")]
    BadFormat { name: String, expected: String },
}

impl FromStr for SyslogListener {
    type Err = ListenerSpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = spec
            .split_once("://")
            .ok_or(ListenerSpecError::MissingTransport)?;
        let transport = if scheme.eq_ignore_ascii_case("udp") {
            Transport::Udp
        } else if scheme.eq_ignore_ascii_case("tcp") {
            Transport::Tcp
        } else {
            return Err(ListenerSpecError::UnknownTransport(scheme.to_owned()));
        };
        let (addr_text, tail) = rest
            .split_once('=')
            .ok_or(ListenerSpecError::MissingTenant)?;
        let addr = addr_text
            .parse::<SocketAddr>()
            .map_err(|_| ListenerSpecError::BadAddress(addr_text.to_owned()))?;
        let (tenant_text, options) = match tail.split_once(',') {
            Some((tenant, options)) => (tenant, Some(options)),
            None => (tail, None),
        };
        let tenant = parse_tenant(tenant_text)?;
        let mut format = None;
        for option in options.into_iter().flat_map(|o| o.split(',')) {
            match option.split_once('=') {
                Some(("format", name)) if format.is_none() => format = Some(parse_format(name)?),
                Some(("format", _)) => {
                    return Err(ListenerSpecError::RepeatedOption("format".to_owned()));
                }
                _ => return Err(ListenerSpecError::UnknownOption(option.to_owned())),
            }
        }
        Ok(SyslogListener {
            transport,
            addr,
            tenant,
            format: Some(format.unwrap_or(DEFAULT_FORMAT).to_owned()),
        })
    }
}

impl fmt::Display for SyslogListener {
    /// The flag form, `tcp://127.0.0.1:6514=7,format=cef` (a listener without a format
    /// hint has no flag form; it shows without `,format=`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}={}", self.transport, self.addr, self.tenant.0)?;
        match &self.format {
            Some(format) => write!(f, ",format={format}"),
            None => Ok(()),
        }
    }
}

fn parse_tenant(text: &str) -> Result<TenantId, ListenerSpecError> {
    let bad = || ListenerSpecError::BadTenant(text.to_owned());
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match text.parse::<u32>() {
        Ok(0) | Err(_) => Err(bad()),
        Ok(id) => Ok(TenantId(id)),
    }
}

/// A line format of the decoders (EVTX is binary, never lines), by its canonical name.
fn parse_format(name: &str) -> Result<&'static str, ListenerSpecError> {
    match Format::from_str(name) {
        Ok(format) if format != Format::Evtx => Ok(format.name()),
        _ => Err(ListenerSpecError::BadFormat {
            name: name.to_owned(),
            expected: Format::ALL
                .iter()
                .filter(|f| **f != Format::Evtx)
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// What the listeners have done since they started, for metrics. Shared as an `Arc`
/// by any number of listeners.
#[derive(Debug, Default)]
pub struct SyslogCounters {
    /// Records stored.
    pub records: AtomicU64,
    /// Appends that stored records (one transaction each).
    pub batches: AtomicU64,
    /// Problems: over-long or partial frames, failed appends (one per batch), socket
    /// errors, connections refused over [`MAX_CONNECTIONS`], idle connections closed
    /// with a partial frame.
    pub errors: AtomicU64,
    /// TCP connections accepted and served.
    pub connections: AtomicU64,
}

impl SyslogCounters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// How a listener batches and bounds its connections; [`Default`] gives the module's
/// constants. Tests shorten the idle timeout or lower the connection limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogOptions {
    pub batch_window: Duration,
    pub max_batch_records: usize,
    pub max_batch_bytes: usize,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Default for SyslogOptions {
    fn default() -> Self {
        SyslogOptions {
            batch_window: BATCH_WINDOW,
            max_batch_records: MAX_BATCH_RECORDS,
            max_batch_bytes: MAX_BATCH_BYTES,
            idle_timeout: IDLE_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// A listener whose socket is open, ready to [`run`](BoundSyslog::run).
#[derive(Debug)]
pub struct BoundSyslog {
    socket: Socket,
    local_addr: SocketAddr,
    tenant: TenantId,
    format: Option<String>,
    /// The live pipeline told of every append (for its backlog gauge), if any.
    live: Option<LiveHandle>,
}

#[derive(Debug)]
enum Socket {
    Udp(UdpSocket),
    Tcp(TcpListener),
}

/// Opens the socket of `spec` (port 0 picks a free port; see
/// [`BoundSyslog::local_addr`]).
pub async fn bind(spec: &SyslogListener) -> io::Result<BoundSyslog> {
    let socket = match spec.transport {
        Transport::Udp => Socket::Udp(UdpSocket::bind(spec.addr).await?),
        Transport::Tcp => Socket::Tcp(TcpListener::bind(spec.addr).await?),
    };
    let local_addr = match &socket {
        Socket::Udp(s) => s.local_addr()?,
        Socket::Tcp(l) => l.local_addr()?,
    };
    Ok(BoundSyslog {
        socket,
        local_addr,
        tenant: spec.tenant,
        format: spec.format.clone(),
        live: None,
    })
}

impl BoundSyslog {
    /// Reports every append to the live pipeline
    /// ([`LiveHandle::note_appended`]), which keeps its backlog gauge by them.
    pub fn with_live(mut self, live: LiveHandle) -> BoundSyslog {
        self.live = Some(live);
        self
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn transport(&self) -> Transport {
        match self.socket {
            Socket::Udp(_) => Transport::Udp,
            Socket::Tcp(_) => Transport::Tcp,
        }
    }

    /// Serves the socket with [`SyslogOptions::default`] until `shutdown` completes,
    /// then stores what was already read and returns.
    pub async fn run(
        self,
        store: Arc<Store>,
        counters: Arc<SyslogCounters>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        self.run_with(store, counters, SyslogOptions::default(), shutdown)
            .await
    }

    /// [`run`](BoundSyslog::run) with other batching and connection bounds. Errors on
    /// the socket are logged and counted, not returned: a listener serves until shut
    /// down.
    pub async fn run_with(
        self,
        store: Arc<Store>,
        counters: Arc<SyslogCounters>,
        options: SyslogOptions,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let shared = Arc::new(Shared {
            store,
            counters,
            tenant: self.tenant,
            format: self.format,
            options,
            live: self.live,
        });
        match self.socket {
            Socket::Udp(socket) => run_udp(socket, shared, shutdown).await,
            Socket::Tcp(listener) => run_tcp(listener, shared, shutdown).await,
        }
    }
}

/// What every task of one listener needs.
struct Shared {
    store: Arc<Store>,
    counters: Arc<SyslogCounters>,
    tenant: TenantId,
    format: Option<String>,
    options: SyslogOptions,
    live: Option<LiveHandle>,
}

impl Shared {
    /// Logs a problem and counts it.
    fn error(&self, what: fmt::Arguments<'_>) {
        eprintln!("{LOG_PREFIX}: {what}");
        SyslogCounters::add(&self.counters.errors, 1);
    }

    /// Appends `records` from `source` on the blocking pool; false if they were not
    /// stored (logged and counted).
    async fn append(self: &Arc<Self>, source: &str, records: Vec<Vec<u8>>) -> bool {
        if records.is_empty() {
            return true;
        }
        let count = records.len();
        let shared = Arc::clone(self);
        let owned_source = source.to_owned();
        let stored = tokio::task::spawn_blocking(move || {
            let lines: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
            shared.store.append_records(
                shared.tenant,
                &owned_source,
                shared.format.as_deref(),
                &lines,
                Timestamp::now(),
            )
        })
        .await;
        match stored {
            Ok(Ok(receipt)) => {
                let n = u64::try_from(receipt.count).unwrap_or(u64::MAX);
                SyslogCounters::add(&self.counters.records, n);
                SyslogCounters::add(&self.counters.batches, 1);
                if let Some(live) = &self.live {
                    live.note_appended(n);
                }
                true
            }
            Ok(Err(e)) => {
                self.error(format_args!("{source}: {count} records not stored: {e}"));
                false
            }
            Err(e) => {
                self.error(format_args!(
                    "{source}: {count} records not stored: the store task failed: {e}"
                ));
                false
            }
        }
    }
}

/// Records gathered for one append, and when they must be stored.
struct Batch<T> {
    records: Vec<T>,
    bytes: usize,
    due: Option<Instant>,
}

impl<T> Batch<T> {
    fn new() -> Self {
        Batch {
            records: Vec::new(),
            bytes: 0,
            due: None,
        }
    }

    fn push(&mut self, record: T, len: usize, window: Duration) {
        if self.records.is_empty() {
            self.due = Some(Instant::now() + window);
        }
        self.records.push(record);
        self.bytes = self.bytes.saturating_add(len);
    }

    fn is_full(&self, options: &SyslogOptions) -> bool {
        self.records.len() >= options.max_batch_records || self.bytes >= options.max_batch_bytes
    }

    fn is_due(&self, now: Instant) -> bool {
        self.due.is_some_and(|due| now >= due)
    }

    fn take(&mut self) -> Vec<T> {
        self.bytes = 0;
        self.due = None;
        std::mem::take(&mut self.records)
    }
}

// ---------------------------------------------------------------------------- UDP

async fn run_udp(
    socket: UdpSocket,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut shutdown = pin!(shutdown);
    let mut buf = vec![0_u8; UDP_BUFFER];
    let mut batch: Batch<(SocketAddr, Vec<u8>)> = Batch::new();
    let mut storing: Option<JoinHandle<()>> = None;
    loop {
        let due = batch.due;
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            () = sleep_until(due), if due.is_some() => {}
            received = socket.recv_from(&mut buf) => match received {
                Ok((n, peer)) => {
                    let datagram = strip_line_end(buf.get(..n).unwrap_or_default());
                    if datagram.len() > MAX_RECORD_BYTES {
                        shared.error(format_args!(
                            "syslog+udp://{peer}: a datagram over {MAX_RECORD_BYTES} bytes skipped"
                        ));
                    } else if !datagram.is_empty() {
                        let len = datagram.len();
                        batch.push((peer, datagram.to_vec()), len, shared.options.batch_window);
                    }
                }
                Err(e) => {
                    shared.error(format_args!("udp://{}: receive failed: {e}", shared_addr(&socket)));
                    tokio::time::sleep(ERROR_BACKOFF).await;
                }
            },
        }
        if batch.is_full(&shared.options) || batch.is_due(Instant::now()) {
            store_udp_batch(&shared, batch.take(), &mut storing).await;
        }
    }
    store_udp_batch(&shared, batch.take(), &mut storing).await;
    if let Some(previous) = storing.take() {
        let _ = previous.await;
    }
    Ok(())
}

fn shared_addr(socket: &UdpSocket) -> String {
    socket
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string())
}

/// Starts storing `datagrams`, one append per peer in order of first arrival, once
/// the batch before it is stored (so records keep their arrival order per peer).
async fn store_udp_batch(
    shared: &Arc<Shared>,
    datagrams: Vec<(SocketAddr, Vec<u8>)>,
    storing: &mut Option<JoinHandle<()>>,
) {
    if datagrams.is_empty() {
        return;
    }
    let mut groups: Vec<(SocketAddr, Vec<Vec<u8>>)> = Vec::new();
    let mut index: HashMap<SocketAddr, usize> = HashMap::new();
    for (peer, datagram) in datagrams {
        let slot = *index.entry(peer).or_insert_with(|| {
            groups.push((peer, Vec::new()));
            groups.len() - 1
        });
        if let Some((_, records)) = groups.get_mut(slot) {
            records.push(datagram);
        }
    }
    if let Some(previous) = storing.take() {
        let _ = previous.await;
    }
    let shared = Arc::clone(shared);
    *storing = Some(tokio::spawn(async move {
        for (peer, records) in groups {
            shared
                .append(&format!("syslog+udp://{peer}"), records)
                .await;
        }
    }));
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

// ---------------------------------------------------------------------------- TCP

async fn run_tcp(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut shutdown = pin!(shutdown);
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(ended) = connections.join_next(), if !connections.is_empty() => {
                if let Err(e) = ended {
                    shared.error(format_args!("a connection task failed: {e}"));
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) if connections.len() >= shared.options.max_connections => {
                    drop(stream);
                    shared.error(format_args!(
                        "syslog+tcp://{peer}: refused, already {} connections",
                        shared.options.max_connections
                    ));
                }
                Ok((stream, peer)) => {
                    SyslogCounters::add(&shared.counters.connections, 1);
                    connections.spawn(serve_connection(
                        Arc::clone(&shared),
                        stream,
                        peer,
                        stopped.clone(),
                    ));
                }
                Err(e) => {
                    shared.error(format_args!("tcp: accept failed: {e}"));
                    tokio::time::sleep(ERROR_BACKOFF).await;
                }
            },
        }
    }
    drop(listener);
    stop.send_replace(true);
    while let Some(ended) = connections.join_next().await {
        if let Err(e) = ended {
            shared.error(format_args!("a connection task failed: {e}"));
        }
    }
    Ok(())
}

/// How a connection's reading ended.
enum Ending {
    /// The peer closed its side: a last unterminated line is stored.
    PeerClosed,
    /// Idle, read error or shutdown: what is complete is stored, a partial frame is
    /// dropped.
    Stopped(&'static str),
}

/// Reads one connection's frames, storing them in batches, until the peer closes, it
/// idles out, a frame cannot be read, an append fails, or the listener shuts down.
async fn serve_connection(
    shared: Arc<Shared>,
    mut stream: TcpStream,
    peer: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    let source = format!("syslog+tcp://{peer}");
    let options = &shared.options;
    let mut framer = Framer::new(MAX_RECORD_BYTES);
    let mut batch: Batch<Vec<u8>> = Batch::new();
    let mut chunk = vec![0_u8; READ_CHUNK];
    let mut idle_at = Instant::now() + options.idle_timeout;
    let ending = loop {
        while let Some(frame) = framer.next_frame() {
            match frame {
                Frame::Record(record) => {
                    let len = record.len();
                    batch.push(record, len, options.batch_window);
                    if batch.is_full(options) && !shared.append(&source, batch.take()).await {
                        return;
                    }
                }
                Frame::OverlongLine => shared.error(format_args!(
                    "{source}: a line over {MAX_RECORD_BYTES} bytes skipped"
                )),
                Frame::OversizeCount(declared) => {
                    shared.append(&source, batch.take()).await;
                    shared.error(format_args!(
                        "{source}: octet count {declared} is over {MAX_RECORD_BYTES} bytes; \
                         connection closed"
                    ));
                    return;
                }
            }
        }
        if batch.is_due(Instant::now()) && !shared.append(&source, batch.take()).await {
            return;
        }
        let wake = batch.due.map_or(idle_at, |due| due.min(idle_at));
        let read = tokio::select! {
            biased;
            _ = stop.changed() => break Ending::Stopped("the listener shut down"),
            read = tokio::time::timeout_at(wake, stream.read(&mut chunk)) => read,
        };
        match read {
            Err(_) if Instant::now() >= idle_at => break Ending::Stopped("idle"),
            Err(_) => {}
            Ok(Ok(0)) => break Ending::PeerClosed,
            Ok(Ok(n)) => {
                framer.push(chunk.get(..n).unwrap_or_default());
                idle_at = Instant::now() + options.idle_timeout;
            }
            Ok(Err(e)) => {
                shared.error(format_args!("{source}: read failed: {e}"));
                break Ending::Stopped("read failed");
            }
        }
    };
    match (ending, framer.finish()) {
        (_, Tail::Nothing) => {}
        (_, Tail::Overlong) => shared.error(format_args!(
            "{source}: a line over {MAX_RECORD_BYTES} bytes skipped"
        )),
        (Ending::PeerClosed, Tail::Line(record)) => {
            let len = record.len();
            batch.push(record, len, options.batch_window);
        }
        (Ending::PeerClosed, Tail::Partial(bytes)) => shared.error(format_args!(
            "{source}: closed inside an octet-counted frame; {bytes} bytes dropped"
        )),
        (Ending::Stopped(why), Tail::Line(record)) => shared.error(format_args!(
            "{source}: closed ({why}) inside a line; {} bytes dropped",
            record.len()
        )),
        (Ending::Stopped(why), Tail::Partial(bytes)) => shared.error(format_args!(
            "{source}: closed ({why}) inside an octet-counted frame; {bytes} bytes dropped"
        )),
    }
    shared.append(&source, batch.take()).await;
}

// ------------------------------------------------------------------------- framing

/// The next thing found in a TCP stream.
#[derive(Debug, PartialEq, Eq)]
enum Frame {
    /// A complete record (never empty).
    Record(Vec<u8>),
    /// An LF-framed line over the limit; it is skipped up to its terminator.
    OverlongLine,
    /// An octet count over the limit: the stream cannot be followed further.
    OversizeCount(u64),
}

/// What was left when the stream ended.
#[derive(Debug, PartialEq, Eq)]
enum Tail {
    Nothing,
    /// An LF-framed line without its terminator (never empty).
    Line(Vec<u8>),
    /// Part of an octet-counted frame: this many bytes, header included.
    Partial(usize),
    /// An LF-framed line over the limit, without its terminator.
    Overlong,
}

/// Splits a TCP byte stream into RFC 6587 frames, octet-counted or LF/NUL-terminated,
/// each frame recognised on its own. Holds at most one frame (bounded by `max`) plus
/// the last read.
#[derive(Debug)]
struct Framer {
    buf: Vec<u8>,
    /// Where the unread bytes of `buf` start.
    start: usize,
    /// Inside an over-long LF line: drop bytes up to the next terminator.
    skipping: bool,
    /// After an oversize octet count nothing more can be framed.
    lost: bool,
    max: usize,
}

impl Framer {
    fn new(max: usize) -> Framer {
        Framer {
            buf: Vec::new(),
            start: 0,
            skipping: false,
            lost: false,
            max,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start.min(self.buf.len()));
            self.start = 0;
            // A large frame is gone: give its memory back rather than hold it for
            // the life of the connection.
            if self.buf.capacity() > 4 * READ_CHUNK && self.buf.len() < READ_CHUNK {
                self.buf.shrink_to(2 * READ_CHUNK);
            }
        }
        self.buf.extend_from_slice(bytes);
    }

    fn pending(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    /// The next complete frame, or `None` until more bytes come. After
    /// [`Frame::OversizeCount`] the stream is lost: always `None`; the caller closes it.
    fn next_frame(&mut self) -> Option<Frame> {
        loop {
            let pending = self.pending();
            if pending.is_empty() || self.lost {
                return None;
            }
            if self.skipping {
                let Some(end) = find_terminator(pending) else {
                    self.start = self.buf.len();
                    return None;
                };
                self.start += end + 1;
                self.skipping = false;
                continue;
            }
            let digits = pending.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits > self.max + 1 {
                // Too long for a count within the limit, and for a line.
                return Some(self.start_skipping());
            }
            if digits > 0 {
                match pending.get(digits) {
                    Some(b' ') => {
                        let declared = octet_count(pending.get(..digits).unwrap_or_default());
                        let len = match usize::try_from(declared) {
                            Ok(len) if len <= self.max => len,
                            _ => {
                                self.lost = true;
                                return Some(Frame::OversizeCount(declared));
                            }
                        };
                        let body_start = digits + 1;
                        let body = pending.get(body_start..body_start + len)?;
                        let record = strip_line_end(body).to_vec();
                        self.start += body_start + len;
                        if record.is_empty() {
                            continue;
                        }
                        return Some(Frame::Record(record));
                    }
                    // Only digits so far: octet count or line, the next byte decides.
                    None if pending.len() <= self.max + 1 => return None,
                    None => return Some(self.start_skipping()),
                    Some(_) => {}
                }
            }
            match find_terminator(pending) {
                Some(end) => {
                    let line = strip_cr(pending.get(..end).unwrap_or_default());
                    let frame = if line.is_empty() {
                        None
                    } else if line.len() > self.max {
                        Some(Frame::OverlongLine)
                    } else {
                        Some(Frame::Record(line.to_vec()))
                    };
                    self.start += end + 1;
                    if frame.is_some() {
                        return frame;
                    }
                }
                // The line may still end in CR LF within the limit.
                None if pending.len() <= self.max + 1 => return None,
                None => return Some(self.start_skipping()),
            }
        }
    }

    /// Reports an over-long line at `start` and skips it up to its terminator.
    fn start_skipping(&mut self) -> Frame {
        self.skipping = true;
        Frame::OverlongLine
    }

    /// What is left once no more bytes will come; empties the framer.
    fn finish(&mut self) -> Tail {
        let pending = self.pending();
        let digits = pending.iter().take_while(|b| b.is_ascii_digit()).count();
        let tail = if self.skipping || self.lost || pending.is_empty() {
            Tail::Nothing
        } else if digits > 0 && pending.get(digits) == Some(&b' ') {
            Tail::Partial(pending.len())
        } else {
            let line = strip_cr(pending);
            if line.is_empty() {
                Tail::Nothing
            } else if line.len() > self.max {
                Tail::Overlong
            } else {
                Tail::Line(line.to_vec())
            }
        };
        self.buf.clear();
        self.start = 0;
        self.skipping = false;
        self.lost = false;
        tail
    }
}

/// The value of a run of ASCII digits, saturating (any value over the limit is
/// refused the same way).
fn octet_count(digits: &[u8]) -> u64 {
    digits.iter().fold(0_u64, |n, d| {
        n.saturating_mul(10)
            .saturating_add(u64::from(d.wrapping_sub(b'0')))
    })
}

fn find_terminator(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n' || b == 0)
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Removes one trailing `\n` or `\r\n`.
fn strip_line_end(record: &[u8]) -> &[u8] {
    match record.strip_suffix(b"\n") {
        Some(line) => strip_cr(line),
        None => record,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(framer: &mut Framer) -> Vec<Frame> {
        std::iter::from_fn(|| framer.next_frame()).collect()
    }

    fn records(input: &[u8]) -> (Vec<Frame>, Tail) {
        let mut framer = Framer::new(16);
        framer.push(input);
        let found = frames(&mut framer);
        (found, framer.finish())
    }

    fn rec(bytes: &[u8]) -> Frame {
        Frame::Record(bytes.to_vec())
    }

    #[test]
    fn lines_end_in_lf_crlf_or_nul_and_empty_ones_are_skipped() {
        let (found, tail) = records(b"<1>a\n<2>b\r\n\n\r\n<3>c\0<4>d");
        assert_eq!(found, vec![rec(b"<1>a"), rec(b"<2>b"), rec(b"<3>c")]);
        assert_eq!(tail, Tail::Line(b"<4>d".to_vec()));
    }

    #[test]
    fn octet_counted_frames_keep_line_feeds_and_mix_with_lines() {
        let (found, tail) = records(b"3 a\nb5 hello<1>x\n5 two\r\n\n0 <2>y\n12 cut");
        assert_eq!(
            found,
            vec![
                rec(b"a\nb"),
                rec(b"hello"),
                rec(b"<1>x"),
                rec(b"two"),
                rec(b"<2>y"),
            ]
        );
        assert_eq!(tail, Tail::Partial(6));
    }

    #[test]
    fn digits_not_followed_by_a_space_start_a_line() {
        let (found, tail) = records(b"2024-01-01 x\n42\n17");
        assert_eq!(found, vec![rec(b"2024-01-01 x"), rec(b"42")]);
        assert_eq!(tail, Tail::Line(b"17".to_vec()));
    }

    #[test]
    fn an_overlong_line_is_skipped_to_its_end() {
        // Found whole in one read.
        let (found, _) = records(b"ok\n0123456789abcdefXYZ\nnext\n");
        assert_eq!(found, vec![rec(b"ok"), Frame::OverlongLine, rec(b"next")]);
        // Arriving in pieces: skipped as soon as it is known too long.
        let mut framer = Framer::new(16);
        framer.push(b"ok\nabcdefghijklmnopqr");
        assert_eq!(frames(&mut framer), vec![rec(b"ok"), Frame::OverlongLine]);
        framer.push(b"rstuvwxyz");
        assert_eq!(frames(&mut framer), vec![]);
        framer.push(b"z\nnext\nlast");
        assert_eq!(frames(&mut framer), vec![rec(b"next")]);
        assert_eq!(framer.finish(), Tail::Line(b"last".to_vec()));
        // A line of exactly the limit, CR LF ended, is kept.
        let (found, _) = records(b"abcdefghijklmnop\r\n");
        assert_eq!(found, vec![rec(b"abcdefghijklmnop")]);
        // A run of digits too long to be a count is a line, and too long.
        let mut framer = Framer::new(16);
        framer.push(b"12345678901234567890");
        assert_eq!(frames(&mut framer), vec![Frame::OverlongLine]);
        assert_eq!(framer.finish(), Tail::Nothing);
    }

    #[test]
    fn an_oversize_count_stops_the_stream() {
        let (found, tail) = records(b"2 ok17 abcdefghijklmnopq\n3 abc");
        assert_eq!(found, vec![rec(b"ok"), Frame::OversizeCount(17)]);
        assert_eq!(tail, Tail::Nothing);
        let (found, _) = records(b"9999999999999999 x");
        assert_eq!(found, vec![Frame::OversizeCount(9_999_999_999_999_999)]);
        let (found, _) = records(b"999999999999999999 x");
        assert_eq!(found, vec![Frame::OverlongLine]);
        // A count of exactly the limit is fine.
        let (found, _) = records(b"16 abcdefghijklmnop");
        assert_eq!(found, vec![rec(b"abcdefghijklmnop")]);
    }

    /// Feeding a stream in any pieces gives the same frames as feeding it whole, and
    /// no input panics.
    #[test]
    fn framing_does_not_depend_on_how_bytes_arrive() {
        const ALPHABET: &[u8] = b"0123456789  \n\r\0a<>\xff";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % bound as u64).unwrap_or(0)
        };
        for _ in 0..3_000 {
            let len = next(60);
            let input: Vec<u8> = (0..len).map(|_| ALPHABET[next(ALPHABET.len())]).collect();
            let mut whole = Framer::new(6);
            whole.push(&input);
            let mut expected = Vec::new();
            while let Some(frame) = whole.next_frame() {
                let stop = matches!(frame, Frame::OversizeCount(_));
                expected.push(frame);
                if stop {
                    break;
                }
            }
            let expected_tail = whole.finish();

            let mut pieces = Framer::new(6);
            let mut got = Vec::new();
            let mut rest = input.as_slice();
            'feed: while !rest.is_empty() {
                let (piece, after) = rest.split_at(1 + next(rest.len()));
                rest = after;
                pieces.push(piece);
                while let Some(frame) = pieces.next_frame() {
                    let stop = matches!(frame, Frame::OversizeCount(_));
                    got.push(frame);
                    if stop {
                        break 'feed;
                    }
                }
            }
            assert_eq!(got, expected, "input {input:?}");
            if !matches!(got.last(), Some(Frame::OversizeCount(_))) {
                assert_eq!(pieces.finish(), expected_tail, "input {input:?}");
            }
        }
    }

    #[test]
    fn listener_specs_parse() {
        let spec: SyslogListener = "udp://127.0.0.1:5514=12".parse().expect("spec");
        assert_eq!(
            spec,
            SyslogListener {
                transport: Transport::Udp,
                addr: "127.0.0.1:5514".parse().expect("addr"),
                tenant: TenantId(12),
                format: Some("syslog".to_owned()),
            }
        );
        let spec: SyslogListener = "TCP://[::1]:6514=7,format=CEF".parse().expect("spec");
        assert_eq!(spec.transport, Transport::Tcp);
        assert_eq!(spec.addr, "[::1]:6514".parse().expect("addr"));
        assert_eq!(spec.tenant, TenantId(7));
        assert_eq!(spec.format.as_deref(), Some("cef"));
        assert_eq!(spec.to_string(), "tcp://[::1]:6514=7,format=cef");
        assert_eq!(spec.to_string().parse::<SyslogListener>().ok(), Some(spec));
    }

    #[test]
    fn bad_listener_specs_name_the_bad_part() {
        let cases: &[(&str, ListenerSpecError, &str)] = &[
            (
                "127.0.0.1:5514=7",
                ListenerSpecError::MissingTransport,
                "missing transport",
            ),
            (
                "http://127.0.0.1:5514=7",
                ListenerSpecError::UnknownTransport("http".to_owned()),
                "`http`",
            ),
            (
                "udp://127.0.0.1:5514",
                ListenerSpecError::MissingTenant,
                "TENANT_ID",
            ),
            (
                "udp://localhost:5514=7",
                ListenerSpecError::BadAddress("localhost:5514".to_owned()),
                "`localhost:5514`",
            ),
            (
                "udp://127.0.0.1=7",
                ListenerSpecError::BadAddress("127.0.0.1".to_owned()),
                "`127.0.0.1`",
            ),
            (
                "udp://127.0.0.1:5514=acme",
                ListenerSpecError::BadTenant("acme".to_owned()),
                "`acme`",
            ),
            (
                "udp://127.0.0.1:5514=0",
                ListenerSpecError::BadTenant("0".to_owned()),
                "`0`",
            ),
            (
                "udp://127.0.0.1:5514=+7",
                ListenerSpecError::BadTenant("+7".to_owned()),
                "`+7`",
            ),
            (
                "udp://127.0.0.1:5514=",
                ListenerSpecError::BadTenant(String::new()),
                "tenant id",
            ),
            (
                "udp://127.0.0.1:5514=4294967296",
                ListenerSpecError::BadTenant("4294967296".to_owned()),
                "`4294967296`",
            ),
            (
                "tcp://127.0.0.1:6514=7,fmt=cef",
                ListenerSpecError::UnknownOption("fmt=cef".to_owned()),
                "`fmt=cef`",
            ),
            (
                "tcp://127.0.0.1:6514=7,",
                ListenerSpecError::UnknownOption(String::new()),
                "option ``",
            ),
            (
                "tcp://127.0.0.1:6514=7,format=cef,format=json",
                ListenerSpecError::RepeatedOption("format".to_owned()),
                "twice",
            ),
        ];
        for (text, error, shown) in cases {
            let got = text.parse::<SyslogListener>().err();
            assert_eq!(got.as_ref(), Some(error), "{text}");
            let message = got.map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains(shown), "{text}: {message}");
        }
        for format in ["evtx", "", "Syslog2"] {
            let text = format!("tcp://127.0.0.1:6514=7,format={format}");
            let message = text
                .parse::<SyslogListener>()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                message.contains(&format!("`{format}`")) && message.contains("syslog, cef"),
                "{text}: {message}"
            );
        }
    }
}
