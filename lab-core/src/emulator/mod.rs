//! The local AWS emulator (moto's server app with IAM enforcement, run by
//! `emulator/sts_lab_emulator.py`, plain or realistic), all in this folder: its pins and install
//! (`install`), start on loopback, bootstrap of an admin with the few unauthenticated requests it
//! allows, lab-local AWS files and environment (here), its control endpoints (`control`), and
//! its process (`process`).

mod clock_move;
pub mod install;
mod process;

pub use crate::aws::target::{Clock, Control, Stats};
pub use clock_move::ClockMove;
pub use install::{EMULATOR_REQUIREMENTS, TEST_TOOL_REQUIREMENTS, UV_REQUIREMENT, Venv};
use process::process_alive;
pub use process::{free_port, port_open, terminate};

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;

use crate::aws::target::{Clients, Target};
use crate::ops::iam;
use crate::profiles::awsfiles::{AwsFiles, FileKind};

/// The server (`emulator/` in the repo), compiled in and written beside the emulator's state:
/// moto's app, its fidelity and speed fixes, its policy evaluation and clock, its CloudTrail, and
/// the realistic layer (`--realistic`).
pub const SERVER_FILES: [(&str, &str); 14] = [
    (
        "sts_lab_emulator.py",
        include_str!("../../../emulator/sts_lab_emulator.py"),
    ),
    ("actions.py", include_str!("../../../emulator/actions.py")),
    ("authorize.py", include_str!("../../../emulator/authorize.py")),
    ("clock.py", include_str!("../../../emulator/clock.py")),
    ("common.py", include_str!("../../../emulator/common.py")),
    ("decider.py", include_str!("../../../emulator/decider.py")),
    ("documents.py", include_str!("../../../emulator/documents.py")),
    ("fidelity.py", include_str!("../../../emulator/fidelity.py")),
    ("lookup.py", include_str!("../../../emulator/lookup.py")),
    ("realistic.py", include_str!("../../../emulator/realistic.py")),
    ("speed.py", include_str!("../../../emulator/speed.py")),
    ("stacks.py", include_str!("../../../emulator/stacks.py")),
    ("trail.py", include_str!("../../../emulator/trail.py")),
    ("trail_s3.py", include_str!("../../../emulator/trail_s3.py")),
];
/// Requests moto serves before it enforces IAM: exactly the admin bootstrap below.
pub const BOOTSTRAP_REQUESTS: u32 = 3;
/// The emulator's admin user and the profile that holds its key in the lab-local files.
pub const ADMIN_USER: &str = "emulator-admin";
pub const ADMIN_PROFILE: &str = "lab-admin";
pub const REGION: &str = "us-east-1";
/// The port `emulator start` uses unless told otherwise.
pub const DEFAULT_PORT: u16 = 5055;
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const OWNER: &str = "emulator";

/// How the emulator behaves: plain (fast and consistent) or realistic (AWS's timing and
/// strictness), with the realistic layer's settings (`STS_LAB_STACK_DELAY` …, in seconds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub realistic: bool,
    pub settings: Vec<(String, String)>,
    /// The binary whose `emulator decide` answers the emulator's every decision (lab-policy's
    /// evaluator: IAM's rules are written once); None: this process's own (the xtask binary).
    pub decider: Option<PathBuf>,
}

impl Options {
    pub fn realistic(settings: &[(&str, &str)]) -> Self {
        Self {
            realistic: true,
            settings: settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            decider: None,
        }
    }
}

/// A running emulator as its state folder records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Running {
    pub pid: u32,
    pub port: u16,
    pub realistic: bool,
}

impl Running {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its own endpoints (clock, counts, reset).
    pub fn control(&self) -> Control {
        Control::on_port(self.port)
    }
}

/// The emulator's state folder: pid, port, log and the lab-local AWS files.
#[derive(Debug, Clone)]
pub struct Home {
    pub dir: PathBuf,
}

impl Home {
    pub fn files(&self) -> AwsFiles {
        AwsFiles::in_dir(&self.dir.join("aws"))
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("moto.log")
    }

    fn state_file(&self) -> PathBuf {
        self.dir.join("server")
    }

    /// The emulator recorded here, if its process is alive and its port answers.
    pub async fn running(&self) -> Option<Running> {
        let text = fs::read_to_string(self.state_file()).ok()?;
        let mut words = text.split_whitespace();
        let running = Running {
            pid: words.next()?.parse().ok()?,
            port: words.next()?.parse().ok()?,
            realistic: words.next() == Some("realistic"),
        };
        (process_alive(running.pid) && port_open(running.port).await).then_some(running)
    }

    /// The target for `--local`: the emulator's endpoint, region, admin profile and files.
    pub fn target(&self, running: Running) -> Target {
        Target {
            endpoint: crate::aws::target::Endpoint::Emulator(running.control()),
            admin_profile: Some(ADMIN_PROFILE.to_owned()),
            // No region: the admin profile's (us-east-1), unless a lab recorded its own.
            ..Target::with_files(self.files())
        }
    }

    /// The environment that points the aws CLI and the SDKs at this emulator and its files.
    pub fn env_vars(&self, running: Running) -> Vec<(&'static str, String)> {
        let files = self.files();
        vec![
            ("AWS_ENDPOINT_URL", running.endpoint()),
            ("AWS_SHARED_CREDENTIALS_FILE", files.credentials.display().to_string()),
            ("AWS_CONFIG_FILE", files.config.display().to_string()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_DEFAULT_REGION", REGION.to_owned()),
            ("AWS_PROFILE", ADMIN_PROFILE.to_owned()),
        ]
    }

    /// Starts the emulator (moto from `venv`, as `options` say) on 127.0.0.1:`port`, detached from this process, waits until
    /// it answers and bootstraps the admin. The returned child may be dropped: the server runs on.
    pub async fn start(&self, venv: &Venv, port: u16, options: &Options) -> Result<(Running, Child)> {
        if port_open(port).await {
            bail!(
                "port {port} on 127.0.0.1 is already in use; stop what runs there, or pick another port with --port or STS_LAB_EMULATOR_PORT"
            );
        }
        if !venv.is_installed() {
            bail!(
                "the emulator is not installed in {}; run `{}`",
                venv.dir.display(),
                crate::output::command::xtask("emulator install")
            );
        }
        fs::create_dir_all(&self.dir).with_context(|| format!("cannot create {}", self.dir.display()))?;
        let log = fs::File::create(self.log()).with_context(|| format!("cannot create {}", self.log().display()))?;
        let server = self.dir.join("code");
        fs::create_dir_all(&server).with_context(|| format!("cannot create {}", server.display()))?;
        for (name, text) in SERVER_FILES {
            let path = server.join(name);
            if fs::read_to_string(&path).ok().as_deref() != Some(text) {
                fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        let script = server.join(SERVER_FILES[0].0);
        let decider = match &options.decider {
            Some(path) => path.clone(),
            None => {
                std::env::current_exe().context("cannot find this program, which decides the emulator's requests")?
            }
        };
        let mut command = Command::new(venv.bin("python"));
        command.arg(&script).args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        if options.realistic {
            command.arg("--realistic");
        }
        let mut child = command
            .envs(options.settings.iter().map(|(k, v)| (k, v)))
            // Python caches compiled modules on the first start: later starts are quicker.
            .env_remove("PYTHONDONTWRITEBYTECODE")
            .env("INITIAL_NO_AUTH_ACTION_COUNT", BOOTSTRAP_REQUESTS.to_string())
            .env("STS_LAB_DECIDER", &decider)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a Ctrl-C meant for cargo does not stop the emulator.
            .process_group(0)
            .spawn()
            .context("cannot start the emulator")?;
        let running = Running {
            pid: child.id(),
            port,
            realistic: options.realistic,
        };
        let started = Instant::now();
        while !port_open(port).await {
            if let Some(status) = child.try_wait()? {
                bail!("the emulator exited ({status}); see {}", self.log().display());
            }
            if started.elapsed() > READY_TIMEOUT {
                let _ = child.kill();
                bail!(
                    "the emulator did not answer on port {port} within {READY_TIMEOUT:?}; see {}",
                    self.log().display()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let mode = if running.realistic { "realistic" } else { "plain" };
        fs::write(self.state_file(), format!("{} {} {mode}", running.pid, running.port))?;
        if let Err(e) = self.bootstrap(running).await {
            let _ = child.kill();
            let _ = child.wait();
            let _ = fs::remove_file(self.state_file());
            return Err(e.context("bootstrapping the emulator's admin failed"));
        }
        Ok((running, child))
    }

    /// Spends the unauthenticated requests on an admin user with `*` rights and writes its key
    /// to the lab-local files as profile `lab-admin`.
    async fn bootstrap(&self, running: Running) -> Result<()> {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(crate::aws::http::shared_emulator_client())
            .app_name(crate::model::trail::lab_app())
            .region(Region::from_static(REGION))
            .endpoint_url(running.endpoint())
            .credentials_provider(Credentials::new(
                "bootstrap",
                "bootstrap",
                None,
                None,
                "sts-lab-bootstrap",
            ))
            .load()
            .await;
        let c = Clients::new(&config);
        iam::create_user(&c.iam, ADMIN_USER, &[(crate::model::names::LAB_TAG_KEY, OWNER)]).await?;
        let admin_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        iam::put_user_policy(&c.iam, ADMIN_USER, "AdministratorAccess", admin_policy).await?;
        let key = iam::create_access_key(&c.iam, ADMIN_USER).await?;
        let files = self.files();
        files
            .write_profile(
                FileKind::Credentials,
                crate::profiles::awsfiles::Section {
                    profile: ADMIN_PROFILE,
                    lab: OWNER,
                    notes: vec![],
                    entries: vec![
                        ("aws_access_key_id", &key.access_key_id),
                        ("aws_secret_access_key", key.secret_access_key.expose()),
                    ],
                },
                true,
            )
            .await?;
        files
            .write_profile(
                FileKind::Config,
                crate::profiles::awsfiles::Section {
                    profile: ADMIN_PROFILE,
                    lab: OWNER,
                    notes: vec![],
                    entries: vec![("region", REGION)],
                },
                true,
            )
            .await
    }

    /// Wipes the emulator's state without a restart (moto's reset and reset-auth), then
    /// bootstraps the admin again into fresh lab-local files.
    pub async fn reset(&self, running: Running) -> Result<()> {
        let control = running.control();
        control.moto_api("/moto-api/reset", "").await?;
        control
            .moto_api("/moto-api/reset-auth", &BOOTSTRAP_REQUESTS.to_string())
            .await?;
        let aws_dir = self.dir.join("aws");
        if aws_dir.exists() {
            fs::remove_dir_all(&aws_dir).with_context(|| format!("cannot remove {}", aws_dir.display()))?;
        }
        self.bootstrap(running).await
    }

    /// How many AWS API requests the emulator has served, from its access log.
    pub fn requests_served(&self) -> Result<usize> {
        let log = fs::read_to_string(self.log()).with_context(|| format!("cannot read {}", self.log().display()))?;
        Ok(log
            .lines()
            .filter(|l| l.contains(" HTTP/1.1\" ") && !l.contains("/moto-api/") && !l.contains("/sts-lab/"))
            .count())
    }

    /// Stops the emulator recorded here; `Ok(false)` when none was running.
    pub async fn stop(&self) -> Result<bool> {
        let running = self.running().await;
        let _ = fs::remove_file(self.state_file());
        let Some(running) = running else {
            return Ok(false);
        };
        terminate(running.pid).await?;
        Ok(true)
    }
}
