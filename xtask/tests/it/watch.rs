//! The instructor's live page in a real browser: `class watch` serves it for a class on the
//! emulator, headless Chromium (the OS package, driven over the DevTools protocol) opens it and
//! sees every student's row; a student's refusals, made with their handout and the aws CLI, turn
//! their row to "stuck" without a reload, another's AssumeRole shows their session's time left;
//! no secret is on the page; only loopback unless asked.
//! With STS_LAB_SCREENSHOT=FILE the test keeps a screenshot of the page there (the README's).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use crate::common::{Scratch, TestEmulator, assert_ok, stderr, student_aws};

/// A process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `class watch` on a free port; the page's address, from the line it prints.
fn watch(emu: &TestEmulator, out: &Path) -> (Killed, String) {
    let mut cmd = emu.xtask_cmd(&[
        "class",
        "watch",
        "--class",
        "room",
        "--out",
        out.to_str().unwrap(),
        "--port",
        "0",
    ]);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let killed = Killed(child);
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("class watch printed no address");
        if let Some(url) = line.split(" at ").nth(1).and_then(|r| r.split_whitespace().next()) {
            return (killed, url.to_owned());
        }
    }
}

/// A plain HTTP GET (`host_header`: the Host sent), its status and body: read up to its
/// Content-Length (Chromium keeps the connection open), never waiting more than 10 s.
fn get(url: &str, host_header: Option<&str>) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let header = host_header.unwrap_or(host);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {header}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            reader.read_exact(&mut body).unwrap();
        }
        None => {
            let _ = reader.read_to_end(&mut body);
        }
    }
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Headless Chromium on `url`, and a DevTools connection to its page.
struct Browser {
    _process: Killed,
    socket: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
    next_id: u64,
    _profile: Scratch,
}

impl Browser {
    fn open(url: &str) -> Self {
        let profile = Scratch::new("chromium");
        let process = Command::new("chromium")
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--window-size=1500,700",
            ])
            .arg(format!("--user-data-dir={}", profile.0.display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium is not installed: apt-get install -y chromium (.ci/run does)");
        let process = Killed(process);
        let port_file = profile.0.join("DevToolsActivePort");
        let port = wait_for("Chromium's DevTools port", || {
            std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|t| t.lines().next().map(str::to_owned))
        });
        let ws = wait_for("the page in Chromium", || {
            let (_, list) = get(&format!("http://127.0.0.1:{port}/json/list"), None);
            let targets: Json = serde_json::from_str(&list).ok()?;
            targets.as_array()?.iter().find_map(|t| {
                (t["type"] == "page" && t["url"].as_str()?.starts_with("http"))
                    .then(|| t["webSocketDebuggerUrl"].as_str().map(str::to_owned))
                    .flatten()
            })
        });
        let (socket, _) = tungstenite::connect(ws.as_str()).unwrap();
        if let tungstenite::stream::MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        }
        Self {
            _process: process,
            socket,
            next_id: 0,
            _profile: profile,
        }
    }

    /// A DevTools command's result.
    fn call(&mut self, method: &str, params: Json) -> Json {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({"id": id, "method": method, "params": params}).to_string();
        self.socket.send(tungstenite::Message::text(message)).unwrap();
        loop {
            let text = match self.socket.read().unwrap() {
                tungstenite::Message::Text(t) => t.to_string(),
                _ => continue,
            };
            let answer: Json = serde_json::from_str(&text).unwrap();
            if answer["id"] == id {
                return answer["result"].clone();
            }
        }
    }

    /// The value of a JavaScript expression in the page.
    fn eval(&mut self, expression: &str) -> Json {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        result["result"]["value"].clone()
    }

    /// Waits (up to a minute) until the page's text holds `wanted`; the text.
    fn until_text(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let text = self
                .eval("document.body.innerText")
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if wanted(&text) {
                return text;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the page never showed {what}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no {what} after 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Each student's secret key, from their handout's credentials file.
fn secrets(out: &Path) -> Vec<String> {
    (1..=3)
        .flat_map(|n| {
            let text = std::fs::read_to_string(out.join(format!("room-0{n}")).join("credentials")).unwrap();
            text.lines()
                .filter_map(|l| l.split_once('=').filter(|(k, _)| k.trim() == "aws_secret_access_key"))
                .map(|(_, v)| v.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn the_live_page_shows_every_student_and_a_change_without_a_reload() {
    let emu = TestEmulator::start().await;
    let out: PathBuf = emu.scratch.0.join("handouts");
    assert_ok(&emu.class("room", &out, &["setup", "--students", "3"]), "class setup");

    // Loopback only, unless asked.
    let open = emu.xtask(&[
        "class",
        "watch",
        "--class",
        "room",
        "--address",
        "0.0.0.0",
        "--port",
        "0",
    ]);
    assert!(
        !open.status.success() && stderr(&open).contains("--public"),
        "{}",
        stderr(&open)
    );

    let (_watch, url) = watch(&emu, &out);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let mut browser = Browser::open(&url);
    let text = browser.until_text("every student's row", |t| {
        (1..=3).all(|n| t.contains(&format!("room-0{n}"))) && t.contains("3 students")
    });
    assert!(text.contains("on track"), "{text}");
    // Just set up: every student on track, setup's own S3 check with their key not counted.
    let (_, reading) = get(&format!("{url}class.json"), None);
    let reading: Json = serde_json::from_str(&reading).unwrap();
    for student in reading["students"].as_array().unwrap() {
        assert_eq!(
            (&student["condition"], &student["refusals_recent"]),
            (&json!("on_track"), &json!(0)),
            "{student:#}"
        );
    }
    browser.eval("window.sincePageLoad = 'kept'");

    // Student 2 is refused S3 again and again, with their own handout and the aws CLI.
    for _ in 0..3 {
        let refused = student_aws(
            &emu,
            &out.join("room-02"),
            &[("AWS_REGION", "us-east-1")],
            &["s3api", "list-buckets", "--profile", "sts"],
        );
        assert!(!refused.status.success(), "student 2's ListBuckets must be refused");
    }
    let row = |b: &mut Browser| b.eval("document.getElementById('student-room-02').innerText");
    let started = Instant::now();
    loop {
        let text = row(&mut browser).as_str().unwrap_or_default().to_owned();
        if text.contains("stuck")
            && text.contains("3 refusals in 15 min")
            && text.contains("AccessDenied")
            && text.contains("the path that exists: assume role")
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "student 2's row never turned stuck: {text}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // Student 1 assumes their role: their row shows the session's time left.
    let readme = std::fs::read_to_string(out.join("room-01").join("README.md")).unwrap();
    let role = readme
        .split("--role-arn ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap();
    let assumed = student_aws(
        &emu,
        &out.join("room-01"),
        &[("AWS_REGION", "us-east-1")],
        &[
            "sts",
            "assume-role",
            "--profile",
            "sts",
            "--role-arn",
            role,
            "--role-session-name",
            "me",
            "--query",
            "AssumedRoleUser.Arn",
        ],
    );
    assert_ok(&assumed, "student 1's assume-role");
    let started = Instant::now();
    loop {
        let text = browser.eval("document.getElementById('student-room-01').innerText");
        if text.as_str().unwrap_or_default().contains("min left at most") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "student 1's session never showed: {text}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(browser.eval("window.sincePageLoad"), "kept", "the page was reloaded");
    let page = browser.until_text("the freshness line", |t| t.contains("read ") && t.contains("s ago"));
    assert!(page.contains("1 stuck"), "{page}");

    // No secret on the page, nor in what it reads; the handouts are not served.
    let html = browser
        .eval("document.documentElement.outerHTML")
        .as_str()
        .unwrap()
        .to_owned();
    let (status, reading) = get(&format!("{url}class.json"), None);
    assert_eq!(status, 200);
    for secret in secrets(&out) {
        assert!(
            !html.contains(&secret) && !reading.contains(&secret),
            "a secret key is on the page"
        );
    }
    assert!(
        !reading.contains("aws_secret_access_key") && !reading.contains("AKIA"),
        "{reading}"
    );
    assert_eq!(get(&format!("{url}room-01/credentials"), None).0, 404);
    assert_eq!(get(&format!("{url}class.json"), Some("attacker.example:80")).0, 421);

    if let Some(path) = std::env::var_os("STS_LAB_SCREENSHOT") {
        let shot = browser.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64_decode(shot["data"].as_str().unwrap());
        std::fs::write(path, png).unwrap();
    }
}

/// Standard base64, as DevTools sends a screenshot.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let bytes: Vec<u8> = text.bytes().filter(|c| *c != b'=').map(value).collect();
    bytes
        .chunks(4)
        .flat_map(|chunk| {
            let n = chunk.iter().fold(0u32, |acc, v| (acc << 6) | u32::from(*v)) << (6 * (4 - chunk.len()));
            let all = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            all.into_iter().take(chunk.len().saturating_sub(1))
        })
        .collect()
}
