//! Test harness: a private emulator (moto with IAM enforcement) per test, on its own port and with
//! its own lab-local AWS files, and helpers to run the built `xtask` binary and the aws CLI. A
//! plain emulator is kept when its test ends and handed, reset, to the next test that asks for
//! one (moto loads each service's code on first use: a warm emulator spares each test that
//! second or two); each ends with the test run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test says what failed by panicking
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use lab_core::aws::target::{Clients, Target};
use lab_core::emulator::{self, Home, Running, Venv};
use lab_core::lab::Lab;
use lab_core::model::names::LabNames;
use lab_core::output::report::Captured;

pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn venv() -> Venv {
    Venv {
        dir: project_root().join(".lab").join("venv"),
    }
}

pub fn xtask_bin() -> &'static str {
    env!("CARGO_BIN_EXE_xtask")
}

/// Installs the emulator once, through the same `xtask emulator install` a user runs.
pub fn ensure_installed() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        if venv().has(&emulator::TEST_TOOL_REQUIREMENTS) {
            return;
        }
        let out = Command::new(xtask_bin())
            .args(["emulator", "install", "--test-tools"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "emulator install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// A port on 127.0.0.1 that was free a moment ago, for a test that is not async.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    listener.local_addr().unwrap().port()
}

/// A fresh, empty folder under the system's temp folder, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sts-lab-test-{}-{tag}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    /// Removed, unless STS_LAB_TEST_KEEP is set: then kept, to read an emulator's log after a
    /// failure.
    fn drop(&mut self) {
        if std::env::var_os("STS_LAB_TEST_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A private emulator: a plain one is kept for the next test when dropped, any other stopped.
pub struct TestEmulator {
    pub home: Home,
    pub running: Running,
    child: Option<Child>,
    pub scratch: Scratch,
    options: emulator::Options,
    /// Kept for the next test on drop: a plain emulator, not restarted.
    keep: bool,
}

/// A plain emulator between two tests, with its folder.
struct Idle {
    home: Home,
    running: Running,
    child: Child,
    scratch: Scratch,
}

/// The plain emulators no test holds now.
static IDLE: Mutex<Vec<Idle>> = Mutex::new(Vec::new());

/// What every test emulator is started with: it ends with the test run (a kept one outlives its
/// test, and nothing else would stop it).
fn with_parent(mut options: emulator::Options) -> emulator::Options {
    options
        .settings
        .push(("STS_LAB_EXIT_WITH_PARENT".to_owned(), "1".to_owned()));
    // Decided by the built xtask's evaluator, as `cargo xtask emulator start` does (this test
    // binary is not it).
    options.decider = Some(xtask_bin().into());
    options
}

impl TestEmulator {
    /// A plain emulator, empty: a kept one reset (its state, its lab-local files, its test's
    /// files), else a new one.
    pub async fn start() -> Self {
        let idle = IDLE.lock().unwrap().pop();
        if let Some(mut idle) = idle {
            if idle.child.try_wait().ok().flatten().is_none() && idle.home.reset(idle.running).await.is_ok() {
                empty_but(&idle.scratch.0, "emulator");
                return Self {
                    home: idle.home,
                    running: idle.running,
                    child: Some(idle.child),
                    scratch: idle.scratch,
                    options: with_parent(emulator::Options::default()),
                    keep: true,
                };
            }
            let _ = idle.child.kill();
            let _ = idle.child.wait();
        }
        let mut emu = Self::start_with(emulator::Options::default()).await;
        emu.keep = true;
        emu
    }

    /// The realistic emulator with `settings` (delays in seconds, short for tests).
    pub async fn realistic(settings: &[(&str, &str)]) -> Self {
        Self::start_with(emulator::Options::realistic(settings)).await
    }

    /// A new emulator with `options`, stopped when dropped.
    pub async fn start_with(options: emulator::Options) -> Self {
        ensure_installed();
        let options = with_parent(options);
        let scratch = Scratch::new("emu");
        let home = Home {
            dir: scratch.0.join("emulator"),
        };
        let (running, child) = start_in(&home, &options).await;
        Self {
            home,
            running,
            child: Some(child),
            scratch,
            options,
            keep: false,
        }
    }

    /// Stops the emulator and starts it again in its folder, as `emulator stop` then `start`
    /// do: its state (every lab) is gone, its lab-local AWS files are kept.
    pub async fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let (running, child) = start_in(&self.home, &self.options).await;
        self.running = running;
        self.child = Some(child);
        self.keep = false;
    }

    pub fn target(&self) -> Target {
        self.home.target(self.running)
    }

    pub async fn lab(&self, lab: Option<&str>) -> Lab {
        let names = LabNames::new(lab).unwrap();
        Lab::connect(self.target(), names, Default::default(), &Captured::default())
            .await
            .unwrap()
    }

    pub async fn admin(&self) -> Clients {
        self.target().admin().await.unwrap()
    }

    /// The admin's clients as a class has them: a throttled call (the realistic emulator's
    /// request rates) is retried until it passes, never failed.
    pub async fn patient_admin(&self) -> Clients {
        let mut target = self.target();
        target.patient = true;
        target.admin().await.unwrap()
    }

    /// The environment `eval "$(cargo xtask emulator env)"` sets, for child processes.
    pub fn env(&self) -> Vec<(String, String)> {
        self.home
            .env_vars(self.running)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    /// Runs the built xtask binary with the emulator's environment (no --local: the standard
    /// AWS environment variables are what points it here).
    pub fn xtask(&self, args: &[&str]) -> Output {
        self.xtask_cmd(args).output().unwrap()
    }

    /// The command `xtask` would run, to spawn it.
    /// Runs `xtask class ARGS --class CLASS --out OUT`, as an instructor runs a class task.
    pub fn class(&self, class: &str, out: &Path, args: &[&str]) -> Output {
        let out = out.to_str().unwrap();
        let mut all = vec!["class"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--class", class, "--out", out]);
        self.xtask(&all)
    }

    pub fn xtask_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(xtask_bin());
        clean_env(&mut cmd);
        cmd.args(args).envs(self.env()).env("HOME", &self.scratch.0);
        cmd
    }

    /// Runs the aws CLI from the emulator's virtualenv with the emulator's environment.
    pub fn aws(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(venv().bin("aws"));
        clean_env(&mut cmd);
        cmd.args(args)
            .envs(self.env())
            .env("HOME", &self.scratch.0)
            .output()
            .unwrap()
    }
}

/// Removes every AWS_* and STS_LAB_* variable the test run inherited.
pub fn clean_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("AWS_") || k.starts_with("STS_LAB_") {
            cmd.env_remove(&key);
        }
    }
}

/// An emulator started in `home`; a port can be taken between free_port and the server's bind:
/// a few are tried.
async fn start_in(home: &Home, options: &emulator::Options) -> (Running, Child) {
    let mut last_err = None;
    for _ in 0..5 {
        let port = emulator::free_port().await.unwrap();
        match home.start(&venv(), port, options).await {
            Ok(started) => return started,
            Err(e) => last_err = Some(e),
        }
    }
    panic!("cannot start the emulator: {:#}", last_err.unwrap());
}

impl Drop for TestEmulator {
    /// A plain emulator still running goes back for the next test; any other is stopped.
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        if self.keep && child.try_wait().ok().flatten().is_none() {
            let scratch = std::mem::replace(&mut self.scratch, Scratch(PathBuf::new()));
            let home = std::mem::replace(&mut self.home, Home { dir: PathBuf::new() });
            IDLE.lock().unwrap().push(Idle {
                home,
                running: self.running,
                child,
                scratch,
            });
            return;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Removes everything in `dir` but its entry `keep`: a kept emulator's folder, its last test's
/// files gone.
fn empty_but(dir: &Path, keep: &str) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_name() == keep {
            continue;
        }
        let path = entry.path();
        let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the command succeeded, showing its output otherwise.
pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// Setup and assume the lab in process, panicking with the steps' lines on failure.
pub async fn setup_and_assume(lab: &Lab) -> Captured {
    let out = Captured::default();
    lab_core::lab::setup(lab, &out)
        .await
        .unwrap_or_else(|e| panic!("setup: {e:#}\n{}", out.text()));
    lab_core::lab::assume(lab, &lab_core::lab::AssumeOptions::default(), &out)
        .await
        .unwrap_or_else(|e| panic!("assume: {e:#}\n{}", out.text()));
    out
}

/// Asserts that botocore (the aws CLI's parser) reads both AWS files, as every aws command must.
pub fn assert_botocore_parses(files: &lab_core::profiles::awsfiles::AwsFiles, when: &str) {
    let script = "import sys, botocore.configloader as c\nfor p in sys.argv[1:]:\n    c.raw_config_parse(p)\n    c.load_config(p)\n";
    let mut cmd = Command::new(venv().bin("python"));
    cmd.arg("-c").arg(script);
    for path in [&files.credentials, &files.config] {
        if path.exists() {
            cmd.arg(path);
        }
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "botocore cannot parse the AWS files {when}: {}",
        stderr(&out)
    );
}

/// Creates a role `name` that the emulator's admin user may assume, with every right, and returns
/// its ARN: the admin set-up AWS recommends (a role, not a user's keys).
pub async fn admin_role(emu: &TestEmulator, name: &str) -> String {
    let admin = emu.admin().await;
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/emulator-admin"]},"Action":["sts:AssumeRole","sts:AssumeRoleWithWebIdentity"]}]}"#;
    let role = admin
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    admin
        .iam
        .put_role_policy()
        .role_name(name)
        .policy_name("AdministratorAccess")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    role.arn
}

/// Appends `text` to `path` as a person editing the file would.
pub fn append(path: &Path, text: &str) {
    let mut old = std::fs::read_to_string(path).unwrap_or_default();
    old.push_str(text);
    std::fs::write(path, old).unwrap();
}

/// A policy document as IAM returns it (URL-encoded), parsed.
pub fn url_decoded_json(doc: &str) -> serde_json::Value {
    // IAM returns policy documents URL-encoded; the SDK leaves them so.
    let mut bytes = Vec::new();
    let raw = doc.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' && i + 2 < raw.len() {
            bytes.push(u8::from_str_radix(std::str::from_utf8(&raw[i + 1..i + 3]).unwrap(), 16).unwrap());
            i += 3;
        } else {
            bytes.push(if raw[i] == b'+' { b' ' } else { raw[i] });
            i += 1;
        }
    }
    let text = String::from_utf8(bytes).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| serde_json::from_str(doc).unwrap())
}

/// The statements of a policy document, one or many.
pub fn statements(doc: &serde_json::Value) -> Vec<serde_json::Value> {
    match &doc["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        one => vec![one.clone()],
    }
}

/// The emulator admin's access key id and secret, as its profile holds them: for tests that give
/// the admin's keys by environment variables instead.
pub fn admin_keys(emu: &TestEmulator) -> (String, String) {
    let profile = emu
        .home
        .files()
        .read_profile(
            lab_core::profiles::awsfiles::FileKind::Credentials,
            lab_core::emulator::ADMIN_PROFILE,
        )
        .unwrap()
        .unwrap();
    let value = |key: &str| profile.get(key).unwrap().to_owned();
    (value("aws_access_key_id"), value("aws_secret_access_key"))
}

/// The bucket `verify` made last (its name carries the time of the run).
pub async fn verify_bucket(lab: &Lab) -> String {
    let prefix = lab.names.verify_bucket_prefix(lab.account());
    let mut made: Vec<String> = lab_core::ops::s3::list_buckets(&lab.admin.s3)
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.starts_with(&prefix))
        .collect();
    made.sort();
    made.pop().unwrap_or_else(|| panic!("no bucket {prefix}*"))
}

/// One request to the emulator's own endpoints (not AWS's); the body of its 200 answer.
fn emulator_http(emu: &TestEmulator, method: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", emu.running.port)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

/// GETs one of the emulator's own endpoints.
pub fn emulator_get(emu: &TestEmulator, path: &str) -> String {
    emulator_http(emu, "GET", path, "")
}

/// POSTs `body` (JSON) to one of the emulator's own endpoints.
pub fn emulator_post(emu: &TestEmulator, path: &str, body: &str) -> String {
    emulator_http(emu, "POST", path, body)
}

/// Moves the emulator's clock as a learner does (`cargo xtask emulator clock +2h`, `now`); what
/// it printed.
pub fn move_clock(emu: &TestEmulator, to: &str) -> String {
    let out = emu
        .xtask_cmd(&["emulator", "clock", to])
        .env("STS_LAB_EMULATOR_DIR", &emu.home.dir)
        .output()
        .unwrap();
    assert_ok(&out, "emulator clock");
    stdout(&out)
}

/// How many calls of `service:Action` the emulator served, and how many it throttled.
pub fn emulator_calls(emu: &TestEmulator, key: &str) -> (u64, u64) {
    let stats: serde_json::Value = serde_json::from_str(&emulator_get(emu, "/sts-lab/stats")).unwrap();
    (
        stats["calls"][key].as_u64().unwrap_or(0),
        stats["throttled"][key].as_u64().unwrap_or(0),
    )
}

/// The requests the emulator throttled so far, of every service.
pub fn emulator_throttled(emu: &TestEmulator) -> u64 {
    let stats: serde_json::Value = serde_json::from_str(&emulator_get(emu, "/sts-lab/stats")).unwrap();
    stats["throttled"]
        .as_object()
        .map_or(0, |t| t.values().filter_map(serde_json::Value::as_u64).sum())
}

/// Whether every check of `verify` passes for `lab`.
pub async fn all_checks_pass(lab: &Lab) -> bool {
    let checks = lab_core::lab::verify(lab, &Captured::default()).await.unwrap();
    checks.iter().all(|c| c.passed)
}

/// What the guide's own cleanup does by hand: the user's keys, its policy, then the user.
pub async fn delete_user_by_hand(lab: &Lab) {
    use lab_core::ops::iam;
    let (a, user) = (&lab.admin.iam, lab.names.user.as_str());
    for key in iam::list_access_keys(a, user).await.unwrap() {
        iam::delete_access_key(a, user, &key.access_key_id).await.unwrap();
    }
    iam::delete_user_policy(a, user, &lab.names.user_policy).await.unwrap();
    iam::delete_user(a, user).await.unwrap();
}

/// The names of the account's IAM users, sorted.
pub async fn user_names(admin: &Clients) -> Vec<String> {
    let mut names: Vec<String> = admin
        .iam
        .list_users()
        .send()
        .await
        .unwrap()
        .users
        .into_iter()
        .map(|u| u.user_name)
        .collect();
    names.sort();
    names
}

/// The aws CLI with a student's handout folder as its files (and the emulator as its endpoint),
/// `env` on top.
pub fn student_aws(emu: &TestEmulator, handout: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(venv().bin("aws"));
    clean_env(&mut cmd);
    cmd.args(args)
        .env("AWS_SHARED_CREDENTIALS_FILE", handout.join("credentials"))
        .env("AWS_CONFIG_FILE", handout.join("config"))
        .env("AWS_ENDPOINT_URL", emu.running.endpoint())
        .env("HOME", &emu.scratch.0)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}
