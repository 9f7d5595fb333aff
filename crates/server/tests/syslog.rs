//! Syslog ingest over real sockets on 127.0.0.1 into an in-memory store: what is
//! stored, under which tenant, hint and source, and when connections are closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use watchfloor_server::syslog::{self, SyslogCounters, SyslogListener, SyslogOptions};
use watchfloor_store::{IngestRecord, MAX_RECORD_BYTES, Origin, Store, TenantId, Timestamp};

/// How long a test waits for something that should happen in milliseconds.
const PATIENCE: Duration = Duration::from_secs(10);

struct Running {
    addr: SocketAddr,
    store: Arc<Store>,
    tenant: TenantId,
    counters: Arc<SyslogCounters>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

struct Setup<'a> {
    scheme: &'a str,
    /// After the tenant id, like `,format=cef`.
    suffix: &'a str,
    /// Listen for this tenant instead of the one created.
    tenant: Option<TenantId>,
    options: SyslogOptions,
}

impl Setup<'_> {
    fn new(scheme: &str) -> Setup<'_> {
        Setup {
            scheme,
            suffix: "",
            tenant: None,
            options: SyslogOptions::default(),
        }
    }

    async fn start(self) -> Running {
        let store = Store::open_in_memory().expect("store");
        let origin = Origin::system("test", Timestamp::now());
        // A second tenant first, so the listener's is not the only one.
        store.create_tenant("Other", &origin).expect("tenant");
        let created = store.create_tenant("Acme", &origin).expect("tenant").id;
        let tenant = self.tenant.unwrap_or(created);
        let spec: SyslogListener =
            format!("{}://127.0.0.1:0={}{}", self.scheme, tenant.0, self.suffix)
                .parse()
                .expect("spec");
        let bound = syslog::bind(&spec).await.expect("bind");
        let addr = bound.local_addr();
        assert_ne!(addr.port(), 0);
        let store = Arc::new(store);
        let counters = Arc::new(SyslogCounters::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.run_with(
            Arc::clone(&store),
            Arc::clone(&counters),
            self.options,
            async move {
                let _ = stopped.await;
            },
        ));
        Running {
            addr,
            store,
            tenant: created,
            counters,
            stop,
            task,
        }
    }
}

impl Running {
    fn records(&self) -> Vec<IngestRecord> {
        self.store
            .pending_records(self.tenant, 0, 10_000)
            .expect("records")
    }

    /// Waits until at least `n` records are stored.
    async fn wait_for(&self, n: u64) {
        let deadline = Instant::now() + PATIENCE;
        while self.store.count_records(self.tenant).expect("count") < n {
            assert!(Instant::now() < deadline, "{n} records never arrived");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn wait_for_errors(&self, n: u64) {
        let deadline = Instant::now() + PATIENCE;
        while self.count(&self.counters.errors) < n {
            assert!(Instant::now() < deadline, "{n} errors never counted");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn count(&self, counter: &std::sync::atomic::AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Shuts the listener down, checks it returns, and gives every record stored.
    async fn stop(self) -> (Vec<IngestRecord>, Arc<SyslogCounters>) {
        let _ = self.stop.send(());
        let ended = tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the listener stops");
        ended.expect("task").expect("run");
        let records = self
            .store
            .pending_records(self.tenant, 0, 10_000)
            .expect("records");
        (records, self.counters)
    }
}

fn lines(records: &[IngestRecord]) -> Vec<Vec<u8>> {
    records.iter().map(|r| r.line.clone()).collect()
}

fn bytes(texts: &[&str]) -> Vec<Vec<u8>> {
    texts.iter().map(|t| t.as_bytes().to_vec()).collect()
}

/// An octet-counted frame: `LEN SP MSG`.
fn octet(message: &[u8]) -> Vec<u8> {
    let mut frame = format!("{} ", message.len()).into_bytes();
    frame.extend_from_slice(message);
    frame
}

async fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// Whether the server closes `stream` (end of stream or reset) within [`PATIENCE`].
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0_u8; 64];
    matches!(
        tokio::time::timeout(PATIENCE, stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

fn source(transport: &str, client: SocketAddr) -> String {
    format!("syslog+{transport}://{client}")
}

#[tokio::test]
async fn udp_datagrams_are_stored_in_order_with_tenant_hint_and_source() {
    let run = Setup::new("udp").start().await;
    let one = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let two = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    for (socket, datagram) in [
        (&one, &b"<13>first\n"[..]),
        (&two, b"<14>from two"),
        (&one, b"<13>second\r\n"),
        (&one, b""),
        (&one, b"\n"),
        (&one, b"<13>third\n\n"),
        (&two, b"<14>two again\n"),
        (&one, b"<13>fourth"),
    ] {
        socket.send_to(datagram, run.addr).await.expect("send");
    }
    run.wait_for(6).await;
    let tenant = run.tenant;
    let (records, counters) = run.stop().await;
    let from = |client: &UdpSocket| {
        let source = source("udp", client.local_addr().expect("addr"));
        let mine: Vec<_> = records
            .iter()
            .filter(|r| r.source == source)
            .cloned()
            .collect();
        lines(&mine)
    };
    assert_eq!(
        from(&one),
        bytes(&["<13>first", "<13>second", "<13>third\n", "<13>fourth"])
    );
    assert_eq!(from(&two), bytes(&["<14>from two", "<14>two again"]));
    assert_eq!(records.len(), 6);
    assert!(
        records
            .iter()
            .all(|r| r.tenant == tenant && r.format_hint.as_deref() == Some("syslog"))
    );
    assert_eq!(counters.records.load(Ordering::Relaxed), 6);
    assert_eq!(counters.errors.load(Ordering::Relaxed), 0);
    assert!(
        counters.batches.load(Ordering::Relaxed) >= 2,
        "one per peer"
    );
}

#[tokio::test]
async fn tcp_newline_framing_stores_each_line_and_the_unterminated_last() {
    let run = Setup::new("tcp").start().await;
    let mut client = connect(run.addr).await;
    let me = client.local_addr().expect("addr");
    client
        .write_all(b"<34>one\n<34>two\r\n\n<34>thr")
        .await
        .expect("write");
    client.write_all(b"ee\0<34>four").await.expect("write");
    client.shutdown().await.expect("close");
    run.wait_for(4).await;
    let tenant = run.tenant;
    let (records, counters) = run.stop().await;
    assert_eq!(
        lines(&records),
        bytes(&["<34>one", "<34>two", "<34>three", "<34>four"])
    );
    for record in &records {
        assert_eq!(record.tenant, tenant);
        assert_eq!(record.source, source("tcp", me));
        assert_eq!(record.format_hint.as_deref(), Some("syslog"));
    }
    assert_eq!(counters.connections.load(Ordering::Relaxed), 1);
    assert_eq!(counters.records.load(Ordering::Relaxed), 4);
    assert_eq!(counters.errors.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn tcp_octet_counting_keeps_a_message_with_line_feeds_as_one_record() {
    let mut setup = Setup::new("tcp");
    setup.suffix = ",format=cef";
    let run = setup.start().await;
    let mut client = connect(run.addr).await;
    let mut stream = octet(b"<13>first line\nsecond line\nthird");
    stream.extend(octet(b"<13>next"));
    stream.extend(octet(b"<13>ends in crlf\r\n"));
    // Split inside a header and inside a message.
    let (a, b) = stream.split_at(3);
    let (b, c) = b.split_at(20);
    for piece in [a, b, c] {
        client.write_all(piece).await.expect("write");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    client.shutdown().await.expect("close");
    run.wait_for(3).await;
    let (records, counters) = run.stop().await;
    assert_eq!(
        lines(&records),
        bytes(&[
            "<13>first line\nsecond line\nthird",
            "<13>next",
            "<13>ends in crlf"
        ])
    );
    assert!(
        records
            .iter()
            .all(|r| r.format_hint.as_deref() == Some("cef"))
    );
    assert_eq!(counters.errors.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn a_line_starting_with_digits_and_a_space_reads_as_an_octet_count() {
    // RFC 6587 tells the framings apart by the first byte; real messages start with
    // `<PRI>`. This one claims 2024 bytes and swallows what follows; the frame is not
    // complete when the peer closes, so it is dropped and counted.
    let run = Setup::new("tcp").start().await;
    let mut client = connect(run.addr).await;
    client
        .write_all(b"<1>ok\n2024 is not a count\n<6>swallowed\n")
        .await
        .expect("write");
    client.shutdown().await.expect("close");
    run.wait_for(1).await;
    run.wait_for_errors(1).await;
    let (records, counters) = run.stop().await;
    assert_eq!(lines(&records), bytes(&["<1>ok"]));
    assert_eq!(counters.errors.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn tcp_framings_can_change_from_frame_to_frame() {
    let run = Setup::new("tcp").start().await;
    let mut client = connect(run.addr).await;
    let mut stream = b"<1>lf one\n".to_vec();
    stream.extend(octet(b"<2>octet\none"));
    stream.extend(b"<3>lf two\r\n");
    stream.extend(octet(b"<4>octet two"));
    stream.extend(octet(b"<5>octet three"));
    stream.extend(b"<6>lf three\n<7>last");
    client.write_all(&stream).await.expect("write");
    client.shutdown().await.expect("close");
    run.wait_for(7).await;
    let (records, counters) = run.stop().await;
    assert_eq!(
        lines(&records),
        bytes(&[
            "<1>lf one",
            "<2>octet\none",
            "<3>lf two",
            "<4>octet two",
            "<5>octet three",
            "<6>lf three",
            "<7>last",
        ])
    );
    assert_eq!(counters.errors.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn bytes_that_are_not_utf8_are_kept_as_sent() {
    let tcp = Setup::new("tcp").start().await;
    let mut client = connect(tcp.addr).await;
    let mut stream = b"<13>caf\xe9 \xff\xfe\n".to_vec();
    stream.extend(octet(b"<13>\xc3\x28 \x80\nx"));
    client.write_all(&stream).await.expect("write");
    client.shutdown().await.expect("close");
    tcp.wait_for(2).await;
    let (records, _) = tcp.stop().await;
    assert_eq!(
        lines(&records),
        vec![
            b"<13>caf\xe9 \xff\xfe".to_vec(),
            b"<13>\xc3\x28 \x80\nx".to_vec()
        ]
    );

    let udp = Setup::new("udp").start().await;
    let client = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    client
        .send_to(b"<13>\x80\x81\xfe\xff", udp.addr)
        .await
        .expect("send");
    udp.wait_for(1).await;
    let (records, _) = udp.stop().await;
    assert_eq!(lines(&records), vec![b"<13>\x80\x81\xfe\xff".to_vec()]);
}

#[tokio::test]
async fn an_overlong_line_is_skipped_and_the_lines_around_it_stored() {
    let run = Setup::new("tcp").start().await;
    let mut client = connect(run.addr).await;
    let mut stream = b"<13>before\n".to_vec();
    stream.extend(std::iter::repeat_n(b'x', MAX_RECORD_BYTES + 10));
    stream.extend(b"\n<13>after\n");
    // A line of exactly the limit is not over it.
    stream.extend(std::iter::repeat_n(b'y', MAX_RECORD_BYTES));
    stream.extend(b"\r\n<13>end");
    client.write_all(&stream).await.expect("write");
    client.shutdown().await.expect("close");
    run.wait_for(4).await;
    let (records, counters) = run.stop().await;
    let got = lines(&records);
    assert_eq!(got.len(), 4);
    assert_eq!(got[0], b"<13>before");
    assert_eq!(got[1], b"<13>after");
    assert!(got[2].len() == MAX_RECORD_BYTES && got[2].iter().all(|&b| b == b'y'));
    assert_eq!(got[3], b"<13>end");
    assert_eq!(counters.errors.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn an_oversize_octet_count_closes_the_connection_after_the_frames_before_it() {
    let run = Setup::new("tcp").start().await;
    let mut client = connect(run.addr).await;
    let mut stream = octet(b"<13>first");
    stream.extend(b"<13>second\n");
    stream.extend(format!("{} xxxx", MAX_RECORD_BYTES + 1).into_bytes());
    client.write_all(&stream).await.expect("write");
    assert!(closed_by_server(&mut client).await);
    // Whatever the peer sends after is not read.
    let _ = client.write_all(&octet(b"<13>never")).await;
    run.wait_for(2).await;
    run.wait_for_errors(1).await;
    let (records, counters) = run.stop().await;
    assert_eq!(lines(&records), bytes(&["<13>first", "<13>second"]));
    assert_eq!(counters.errors.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_trickling_sender_gets_its_messages_stored() {
    let mut setup = Setup::new("tcp");
    // Sending takes several idle timeouts; each byte resets the clock.
    setup.options.idle_timeout = Duration::from_millis(300);
    let run = setup.start().await;
    let mut client = connect(run.addr).await;
    let mut stream = b"<13>slow but steady\n".to_vec();
    stream.extend(octet(b"<13>slow\ncounted"));
    for byte in &stream {
        client.write_all(&[*byte]).await.expect("write");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    run.wait_for(2).await;
    let (records, counters) = run.stop().await;
    assert_eq!(
        lines(&records),
        bytes(&["<13>slow but steady", "<13>slow\ncounted"])
    );
    assert_eq!(counters.errors.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let mut setup = Setup::new("tcp");
    setup.options.idle_timeout = Duration::from_millis(300);
    let run = setup.start().await;

    let mut talker = connect(run.addr).await;
    talker
        .write_all(b"<13>done\n<13>partial")
        .await
        .expect("write");
    let sent = Instant::now();
    let mut mute = connect(run.addr).await;
    assert!(closed_by_server(&mut talker).await);
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "closed after {waited:?}"
    );
    assert!(closed_by_server(&mut mute).await);
    run.wait_for_errors(1).await;
    let (records, counters) = run.stop().await;
    // The partial line was never completed: dropped and counted.
    assert_eq!(lines(&records), bytes(&["<13>done"]));
    assert_eq!(counters.errors.load(Ordering::Relaxed), 1);
    assert_eq!(counters.connections.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn a_failed_append_closes_the_connection_and_the_listener_keeps_serving() {
    let mut setup = Setup::new("tcp");
    setup.tenant = Some(TenantId(4242));
    let run = setup.start().await;
    for n in 1..=2 {
        let mut client = connect(run.addr).await;
        client.write_all(b"<13>lost\n").await.expect("write");
        assert!(closed_by_server(&mut client).await, "connection {n}");
        run.wait_for_errors(n).await;
    }
    let store = Arc::clone(&run.store);
    let (records, counters) = run.stop().await;
    assert!(records.is_empty());
    assert_eq!(store.count_records(TenantId(4242)).ok(), Some(0));
    assert_eq!(counters.connections.load(Ordering::Relaxed), 2);
    assert_eq!(counters.errors.load(Ordering::Relaxed), 2);
    assert_eq!(counters.records.load(Ordering::Relaxed), 0);

    let mut setup = Setup::new("udp");
    setup.tenant = Some(TenantId(4242));
    let run = setup.start().await;
    let client = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    client.send_to(b"<13>lost", run.addr).await.expect("send");
    run.wait_for_errors(1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    client
        .send_to(b"<13>lost too", run.addr)
        .await
        .expect("send");
    run.wait_for_errors(2).await;
    let (records, _) = run.stop().await;
    assert!(records.is_empty());
}

#[tokio::test]
async fn connections_over_the_limit_are_closed_at_once() {
    let mut setup = Setup::new("tcp");
    setup.options.max_connections = 1;
    let run = setup.start().await;
    let mut first = connect(run.addr).await;
    first.write_all(b"<13>first\n").await.expect("write");
    run.wait_for(1).await;
    let mut second = connect(run.addr).await;
    assert!(closed_by_server(&mut second).await);
    run.wait_for_errors(1).await;
    first.write_all(b"<13>still served\n").await.expect("write");
    run.wait_for(2).await;
    let (records, counters) = run.stop().await;
    assert_eq!(lines(&records), bytes(&["<13>first", "<13>still served"]));
    assert_eq!(counters.connections.load(Ordering::Relaxed), 1);
    assert_eq!(counters.errors.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn shutdown_stores_the_batches_already_read() {
    for scheme in ["tcp", "udp"] {
        let mut setup = Setup::new(scheme);
        // No batch is due before the shutdown.
        setup.options.batch_window = Duration::from_secs(3600);
        let run = setup.start().await;
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let mut tcp = None;
        if scheme == "tcp" {
            let mut client = connect(run.addr).await;
            client
                .write_all(b"<13>a\n<13>b\n<13>partial")
                .await
                .expect("write");
            tcp = Some(client);
        } else {
            for datagram in [&b"<13>a"[..], b"<13>b"] {
                udp.send_to(datagram, run.addr).await.expect("send");
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(run.records().is_empty(), "{scheme}: nothing due yet");
        // The TCP client stays connected: shutdown does not wait for it.
        let (records, counters) = run.stop().await;
        assert_eq!(lines(&records), bytes(&["<13>a", "<13>b"]), "{scheme}");
        let partial = u64::from(scheme == "tcp");
        assert_eq!(counters.errors.load(Ordering::Relaxed), partial, "{scheme}");
        drop(tcp);
    }
}
