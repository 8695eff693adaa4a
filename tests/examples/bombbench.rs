//! What a hostile phone's sync request costs the server (issue #14): each attack is sent up to the
//! body limit while another staff member keeps editing over the API, and the server's peak RSS
//! (read from /proc of the server process, a separate `huifang demo`), each attack's answer time
//! and the honest writer's latency are printed, beside this machine's floor for the same bytes
//! (inflating the largest body once).
//!
//! Run: `cargo build --release -p huifang-server && cargo run --release -p huifang-e2e --example bombbench`
//! Targets: any request up to the body limit raises peak RSS by < 64 MiB and is answered 4xx (or
//! refused per document) in < 100 ms; other writers are not delayed by it.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use automerge::AutoCommit;
use automerge::transaction::Transactable;
use huifang_protocol::{
    DocumentKind, MAX_DOCUMENT_BYTES, MAX_REQUEST_BYTES, OutgoingChanges, SYNC_VERSION,
    SyncRequest, SyncResponse, decode_message, encode_message,
};
use serde_json::{Value, json};

const PASSWORD: &str = "huifang-demo";

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

async fn start() -> Server {
    let binary = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/huifang");
    assert!(
        binary.exists(),
        "build the server first: cargo build --release -p huifang-server"
    );
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "demo",
            "--no-history",
            "--addr",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed and waited for when `Server` drops.
    let mut server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if client
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return server;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("the demo server stopped: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the demo server did not start");
}

async fn login(client: &reqwest::Client, base: &str, username: &str) -> String {
    let answer: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["token"].as_str().unwrap().to_owned()
}

fn leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn chunk(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, kind];
    leb(&mut bytes, body.len() as u64);
    bytes.extend_from_slice(body);
    bytes
}

fn id(n: usize) -> String {
    format!("{n:032x}")
}

/// Fills a request with documents' changes until it reaches the body limit.
fn request_of(make: &dyn Fn(usize) -> Vec<u8>) -> Vec<u8> {
    let mut changes = Vec::new();
    let mut size = 0;
    for n in 0..1_000 {
        let bytes = make(n);
        size += bytes.len();
        if size > MAX_REQUEST_BYTES - 64 * 1024 {
            break;
        }
        changes.push(OutgoingChanges {
            document_id: id(n + 1),
            kind: DocumentKind::Sheet,
            changes: bytes,
        });
    }
    encode_message(&SyncRequest {
        version: SYNC_VERSION,
        cursor: 0,
        changes,
        page_size: 1,
        reference_version: None,
        scope_version: None,
        device: None,
    })
    .unwrap()
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = start().await;
    let pid = server.child.id();
    let client = reqwest::Client::new();
    let attacker = login(&client, &server.base, "ch.gw.01").await;
    let writer = login(&client, &server.base, "ch.csc.01").await;
    let base = server.base.clone();

    // The attacks, each a whole request body.
    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflate.write_all(&vec![0u8; 64 << 20]).unwrap();
    let compressed_bomb = chunk(2, &deflate.finish().unwrap());
    let mut rle = vec![0, 16];
    rle.extend_from_slice(&[7; 16]);
    rle.extend_from_slice(&[1, 1, 0, 0, 0, 1, (4 << 4) | 2]);
    let mut run = Vec::new();
    leb(&mut run, 1 << 40);
    run.push(1);
    leb(&mut rle, run.len() as u64);
    rle.extend_from_slice(&run);
    let rle_bomb = chunk(1, &rle);
    // Documents just under the per-document cap that Automerge does load: large strings.
    let big_string = |n: usize| {
        let mut doc = AutoCommit::new();
        doc.put(
            automerge::ROOT,
            "junk",
            format!("{n}").repeat(MAX_DOCUMENT_BYTES / 2 - 64),
        )
        .unwrap();
        doc.save_after(&[])
    };
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(&vec![0u8; 1 << 30]).unwrap();
    let gzip_bomb = gzip.finish().unwrap();
    let attacks: Vec<(&str, Vec<u8>)> = vec![
        (
            "compressed change chunks (64 MiB of zeros each)",
            request_of(&|_| compressed_bomb.clone()),
        ),
        (
            "run-length bombs (10^12 operations each)",
            request_of(&|_| rle_bomb.clone()),
        ),
        (
            "documents at the size cap that Automerge loads",
            request_of(&big_string),
        ),
        ("gzip bomb body (1 GiB of zeros)", gzip_bomb),
    ];

    // The floor: inflating the largest body once on this machine.
    let largest = attacks.iter().map(|(_, b)| b.len()).max().unwrap();
    let floor = {
        let body = &attacks[2].1;
        let started = Instant::now();
        let _: SyncRequest = decode_message(body).unwrap();
        started.elapsed()
    };

    // The honest writer: tracking notes on one sheet over the API, timed.
    let sheet: Value = client
        .post(format!("{base}/api/v1/sheets"))
        .bearer_auth(&writer)
        .json(&json!({"level": "none", "category": "property_service", "source": "phone",
                      "customer_name": "陈志强", "contact_phone": "13800138001", "items": ["楼道灯"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sheet_id = sheet["id"].as_str().unwrap().to_owned();
    let write_once = {
        let client = client.clone();
        let base = base.clone();
        let writer = writer.clone();
        move || {
            let client = client.clone();
            let url = format!("{base}/api/v1/sheets/{sheet_id}/tracking");
            let writer = writer.clone();
            async move {
                let started = Instant::now();
                let response = client
                    .post(url)
                    .bearer_auth(writer)
                    .json(&json!({"note": "跟进"}))
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success(), "{}", response.status());
                started.elapsed()
            }
        }
    };
    let mut quiet = Vec::new();
    for _ in 0..50 {
        quiet.push(write_once().await);
    }
    quiet.sort();

    println!("hostile sync requests against `huifang demo` (release, SQLite), server pid {pid}");
    println!(
        "floor: decoding the largest request ({:.1} MiB) once in this process takes {:.1} ms",
        largest as f64 / 1048576.0,
        floor.as_secs_f64() * 1e3
    );
    println!(
        "honest writer alone: p50 {:.1} ms, max {:.1} ms",
        quiet[quiet.len() / 2].as_secs_f64() * 1e3,
        quiet[quiet.len() - 1].as_secs_f64() * 1e3
    );
    println!(
        "{:<50} {:>9} {:>7} {:>10} {:>10} {:>12} {:>12}",
        "attack (one request at the body limit)",
        "body",
        "status",
        "answer",
        "peak RSS",
        "writer p50",
        "writer max"
    );
    for (name, body) in &attacks {
        let before = status_kib(pid, "VmHWM:");
        let attack = {
            let client = client.clone();
            let url = format!("{base}/api/v1/sync");
            let attacker = attacker.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let mut times = Vec::new();
                let mut status = 0;
                let mut refused = 0;
                for _ in 0..5 {
                    let started = Instant::now();
                    let response = client
                        .post(&url)
                        .bearer_auth(&attacker)
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    status = response.status().as_u16();
                    let bytes = response.bytes().await.unwrap();
                    times.push(started.elapsed());
                    if status == 200 {
                        let answer: SyncResponse = decode_message(&bytes).unwrap();
                        assert!(answer.committed.is_empty(), "nothing hostile is taken");
                        refused = answer.rejections.len();
                    }
                }
                times.sort();
                (status, refused, times)
            })
        };
        let mut during = Vec::new();
        while !attack.is_finished() {
            during.push(write_once().await);
        }
        let (status, refused, times) = attack.await.unwrap();
        during.sort();
        let after = status_kib(pid, "VmHWM:");
        let status = if status == 200 {
            format!("{refused} refused")
        } else {
            status.to_string()
        };
        println!(
            "{:<50} {:>7.1} MiB {:>7} {:>7.1} ms {:>+7.1} MiB {:>9.1} ms {:>9.1} ms",
            name,
            body.len() as f64 / 1048576.0,
            status,
            times[times.len() / 2].as_secs_f64() * 1e3,
            (after.saturating_sub(before)) as f64 / 1024.0,
            during
                .get(during.len() / 2)
                .map_or(0.0, |d| d.as_secs_f64() * 1e3),
            during.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        );
    }
    println!(
        "server peak RSS over the whole run: {:.1} MiB",
        status_kib(pid, "VmHWM:") as f64 / 1024.0
    );
}
