//! The simulated camera run as a program (issue 12): like a camera, it serves nothing unsigned
//! unless explicitly opened for tests.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Program(Child);

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `simcam --listen 127.0.0.1:<port>` with `extra` args; waits until it accepts.
fn simcam(extra: &[&str]) -> (Program, String) {
    // reqwest is built without a default TLS provider here: the process installs ring's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_simcam"))
        .args(["--listen", &listen, "--ble-listen", "127.0.0.1:0", "--segment-secs", "10"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("simcam starts");
    let program = Program(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(&listen).is_err() {
        assert!(Instant::now() < deadline, "simcam did not listen on {listen}");
        std::thread::sleep(Duration::from_millis(100));
    }
    (program, format!("http://{listen}"))
}

async fn status_of(url: &str) -> u16 {
    reqwest::get(url).await.expect("simcam answers").status().as_u16()
}

#[tokio::test]
async fn simcam_program_serves_nothing_unsigned_by_default() {
    let (_cam, base) = simcam(&[]);
    for path in
        ["/api/v1/status", "/api/v1/drives", "/api/v1/segments", "/api/v1/feed?timeout_ms=1"]
    {
        let code = status_of(&format!("{base}{path}")).await;
        assert!(code == 401 || code == 403, "{path} answered {code} unsigned");
    }
}

#[tokio::test]
async fn simcam_open_flag_serves_unsigned_for_tests_only() {
    let (_cam, base) = simcam(&["--open"]);
    assert_eq!(status_of(&format!("{base}/api/v1/status")).await, 200);
}

#[tokio::test]
async fn simcam_pairing_is_closed_until_its_button_is_pressed() {
    let (_cam, base) = simcam(&[]);
    let client = reqwest::Client::new();
    let first: serde_json::Value = client
        .post(format!("{base}/sim/pairing-button"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second: serde_json::Value = client
        .post(format!("{base}/sim/pairing-button"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (a, b) = (first["code"].as_str().unwrap(), second["code"].as_str().unwrap());
    assert!(a.len() >= 8 && a.bytes().all(|c| c.is_ascii_digit()));
    assert_ne!(a, b, "each window has a fresh code");
}
