//! Ringside's local test PBX: Debian's Kamailio 5.6 running
//! `tests/pbx/kamailio.cfg` in the foreground, on free loopback ports, with
//! its own runtime dir (fresh db_text tables, self-signed cert, ctl socket,
//! log). Started and stopped by PID; never the system service.
//!
//! ```no_run
//! let pbx = ringside_testkit::Pbx::start()?;
//! println!("{}", pbx.ws_url()); // ws://127.0.0.1:PORT
//! assert!(pbx.contacts("1001")?.is_empty());
//! # Ok::<(), ringside_testkit::PbxError>(())
//! ```
//!
//! Accounts, digest algorithms and the log line per REGISTER are described
//! in tests/pbx/README.md.

pub mod sip;

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// SIP domain of the test accounts (any host part is accepted too).
pub const DOMAIN: &str = "pbx.test";
/// First and last test account; passwords are `pass<user>`.
pub const FIRST_USER: u16 = 1001;
pub const LAST_USER: u16 = 1010;
/// Account challenged with SHA-256 only.
pub const SHA256_ONLY_USER: &str = "1009";
/// Account challenged with SHA-256 and MD5 (RFC 8760), either answer accepted.
pub const SHA256_AND_MD5_USER: &str = "1010";

const PACKAGES: &str =
    "kamailio kamailio-websocket-modules kamailio-presence-modules kamailio-tls-modules";
const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_GRACE: Duration = Duration::from_secs(5);
const PORT_ATTEMPTS: u32 = 8;
const INFO_FILE: &str = "pbx.json";
const LOG_FILE: &str = "kamailio.log";
const REGISTER_MARK: &str = "RINGSIDE-REGISTER user=";

/// The password of a test account.
pub fn password(user: &str) -> String {
    format!("pass{user}")
}

#[derive(Debug, thiserror::Error)]
pub enum PbxError {
    #[error(
        "`{0}` not found (looked in $PATH, /usr/sbin, /usr/bin): run `cargo xtask test`, which \
         installs it (apt-get install {PACKAGES})"
    )]
    NotInstalled(&'static str),
    #[error("cannot {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("kamailio exited before it answered ({status}){hint}; log tail:\n{log_tail}")]
    Exited {
        status: String,
        hint: String,
        log_tail: String,
    },
    #[error("kamailio did not answer SIP OPTIONS within {0:?}; log tail:\n{1}")]
    Timeout(Duration, String),
    #[error("no free set of ports after {0} attempts; last log tail:\n{1}")]
    NoFreePorts(u32, String),
    #[error("openssl could not make the test certificate: {0}")]
    Cert(String),
    #[error("kamcmd failed: {0}")]
    Kamcmd(String),
    #[error("SIP: {0}")]
    Sip(String),
    #[error("bad PBX run dir {0}: {1}")]
    RunDir(PathBuf, String),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PbxError {
    let what = what.into();
    move |source| PbxError::Io { what, source }
}

/// How to start the PBX. `Default` = free ports, temporary run dir.
#[derive(Clone, Debug, Default)]
pub struct PbxOptions {
    /// UDP and TCP SIP port; free port when `None`.
    pub sip_port: Option<u16>,
    pub ws_port: Option<u16>,
    pub wss_port: Option<u16>,
    /// Runtime dir to use and keep; a temporary one (removed on drop) when `None`.
    pub run_dir: Option<PathBuf>,
    /// Config file; tests/pbx/kamailio.cfg of this checkout when `None`.
    pub config: Option<PathBuf>,
    /// How long to wait for the first answer; 10 s when `None`.
    pub ready_timeout: Option<Duration>,
    /// Have the kernel SIGTERM Kamailio when the spawning thread dies
    /// (for a CLI whose main thread owns the PBX; not for test threads
    /// that hand the PBX to others).
    pub die_with_parent: bool,
}

/// Where a running PBX is and how to reach it; also readable by other
/// processes from `<run_dir>/pbx.json` (see [`PbxInfo::load`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbxInfo {
    pub run_dir: PathBuf,
    pub sip_port: u16,
    pub ws_port: u16,
    pub wss_port: u16,
    /// Value of `X-Ringside-Inject` that makes a loopback UDP request trusted.
    pub token: String,
}

impl PbxInfo {
    /// Reads the description a running kit wrote into its run dir.
    pub fn load(run_dir: &Path) -> Result<PbxInfo, PbxError> {
        let path = run_dir.join(INFO_FILE);
        let text = fs::read_to_string(&path).map_err(io_err(format!("read {}", path.display())))?;
        let bad = |why: &str| PbxError::RunDir(run_dir.to_path_buf(), why.to_string());
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(&format!("{INFO_FILE}: {e}")))?;
        let port = |key: &str| {
            v.get(key)
                .and_then(|p| p.as_u64())
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| bad(&format!("{INFO_FILE} has no valid {key}")))
        };
        Ok(PbxInfo {
            run_dir: run_dir.to_path_buf(),
            sip_port: port("sip_port")?,
            ws_port: port("ws_port")?,
            wss_port: port("wss_port")?,
            token: v
                .get("token")
                .and_then(|t| t.as_str())
                .ok_or_else(|| bad(&format!("{INFO_FILE} has no token")))?
                .to_string(),
        })
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.ws_port)
    }

    pub fn wss_url(&self) -> String {
        format!("wss://127.0.0.1:{}", self.wss_port)
    }

    /// UDP (and TCP) SIP address.
    pub fn udp_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.sip_port))
    }

    pub fn log_path(&self) -> PathBuf {
        self.run_dir.join(LOG_FILE)
    }

    /// The self-signed certificate served on wss (PEM).
    pub fn cert_path(&self) -> PathBuf {
        self.run_dir.join("certs").join("cert.pem")
    }

    pub fn pid_path(&self) -> PathBuf {
        self.run_dir.join("kamailio.pid")
    }

    pub fn ctl_socket(&self) -> PathBuf {
        self.run_dir.join("kamailio_ctl")
    }

    /// One JSON object describing the PBX: what `ringside-pbx serve` prints.
    pub fn to_json(&self, pid: Option<u32>, ready_ms: Option<u128>) -> serde_json::Value {
        serde_json::json!({
            "pid": pid,
            "ws_url": self.ws_url(),
            "wss_url": self.wss_url(),
            "sip_port": self.sip_port,
            "ws_port": self.ws_port,
            "wss_port": self.wss_port,
            "domain": DOMAIN,
            "run_dir": self.run_dir,
            "log": self.log_path(),
            "ctl": format!("unix:{}", self.ctl_socket().display()),
            "cert": self.cert_path(),
            "token": self.token,
            "ready_ms": ready_ms,
        })
    }

    /// `kamcmd ul.dump`: the location table as Kamailio prints it.
    pub fn ul_dump(&self) -> Result<String, PbxError> {
        let kamcmd = find_tool("kamcmd")?;
        let out = Command::new(kamcmd)
            .arg("-s")
            .arg(format!("unix:{}", self.ctl_socket().display()))
            .arg("ul.dump")
            .output()
            .map_err(io_err("run kamcmd"))?;
        if !out.status.success() {
            return Err(PbxError::Kamcmd(format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Contact addresses registered for `user` (from `ul.dump`).
    pub fn contacts(&self, user: &str) -> Result<Vec<String>, PbxError> {
        Ok(contacts_in_dump(&self.ul_dump()?, user))
    }

    /// When each REGISTER for `user` (To user part) arrived, as logged by
    /// the config, challenged ones included, oldest first.
    pub fn register_times(&self, user: &str) -> Result<Vec<SystemTime>, PbxError> {
        let log = fs::read(self.log_path()).map_err(io_err("read the kamailio log"))?;
        Ok(register_times_in_log(&String::from_utf8_lossy(&log), user))
    }

    /// How many REGISTER requests for `user` reached the PBX (this run dir).
    pub fn register_count(&self, user: &str) -> Result<usize, PbxError> {
        Ok(self.register_times(user)?.len())
    }

    /// REGISTER requests for `user` that arrived at or after `since`.
    pub fn register_count_since(&self, user: &str, since: SystemTime) -> Result<usize, PbxError> {
        Ok(self
            .register_times(user)?
            .into_iter()
            .filter(|t| *t >= since)
            .count())
    }

    /// Sets the voicemail state of `user` (RFC 3842): a trusted PUBLISH of
    /// message-summary to the presence server, which NOTIFYs every
    /// subscriber now and answers later SUBSCRIBEs with it. A repeated call
    /// replaces the state (SIP-If-Match with the last entity tag).
    pub fn inject_mwi(&self, user: &str, new: u32, old: u32) -> Result<(), PbxError> {
        let etag_path = self.run_dir.join(format!("mwi-etag-{user}"));
        let etag = fs::read_to_string(&etag_path).ok();
        let mut response = self.publish_mwi(user, new, old, etag.as_deref())?;
        if response.status == 412 {
            // the PBX restarted and forgot the old publication
            response = self.publish_mwi(user, new, old, None)?;
        }
        if response.status != 200 {
            return Err(PbxError::Sip(format!(
                "MWI PUBLISH for {user} answered {}",
                first_line(&response.raw)
            )));
        }
        if let Some(tag) = response.header("SIP-ETag") {
            fs::write(&etag_path, tag).map_err(io_err("store the MWI entity tag"))?;
        }
        Ok(())
    }

    /// Sends an unsolicited message-summary NOTIFY to every registered
    /// contact of `user` (the old Asterisk style, no subscription) and
    /// returns the final status (200 when a contact took it, 404 when the
    /// user is not registered).
    pub fn inject_mwi_unsolicited(&self, user: &str, new: u32, old: u32) -> Result<u16, PbxError> {
        let aor = format!("sip:{user}@{DOMAIN}");
        let body = mwi_body(&aor, new, old);
        let extra = format!(
            "Event: message-summary\r\nSubscription-State: active\r\nX-Ringside-Inject: {}\r\n",
            self.token
        );
        let req = sip::Req {
            method: "NOTIFY",
            uri: &aor,
            from: &format!("sip:voicemail@{DOMAIN}"),
            to: &aor,
            extra: &extra,
            content_type: Some("application/simple-message-summary"),
            body: &body,
        };
        Ok(sip::request(
            self.udp_addr(),
            |port| req.render(port),
            Duration::from_secs(5),
        )?
        .status)
    }

    fn publish_mwi(
        &self,
        user: &str,
        new: u32,
        old: u32,
        etag: Option<&str>,
    ) -> Result<sip::Response, PbxError> {
        let aor = format!("sip:{user}@{DOMAIN}");
        let body = mwi_body(&aor, new, old);
        let if_match = etag
            .map(|t| format!("SIP-If-Match: {t}\r\n"))
            .unwrap_or_default();
        let extra = format!(
            "Event: message-summary\r\nExpires: 3600\r\n{if_match}X-Ringside-Inject: {}\r\n",
            self.token
        );
        let req = sip::Req {
            method: "PUBLISH",
            uri: &aor,
            from: &aor,
            to: &aor,
            extra: &extra,
            content_type: Some("application/simple-message-summary"),
            body: &body,
        };
        sip::request(
            self.udp_addr(),
            |port| req.render(port),
            Duration::from_secs(5),
        )
    }

    /// One SIP OPTIONS to the server itself over UDP; the status it answered.
    pub fn options_ping(&self, timeout: Duration) -> Result<u16, PbxError> {
        let uri = format!("sip:127.0.0.1:{}", self.sip_port);
        let req = sip::Req {
            method: "OPTIONS",
            uri: &uri,
            from: "sip:testkit@127.0.0.1",
            to: &uri,
            extra: "",
            content_type: None,
            body: "",
        };
        Ok(sip::request(self.udp_addr(), |port| req.render(port), timeout)?.status)
    }

    /// The last `lines` lines of Kamailio's log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_path(), lines)
    }

    fn save(&self) -> Result<(), PbxError> {
        let text = serde_json::json!({
            "sip_port": self.sip_port,
            "ws_port": self.ws_port,
            "wss_port": self.wss_port,
            "token": self.token,
        })
        .to_string();
        fs::write(self.run_dir.join(INFO_FILE), text).map_err(io_err("write pbx.json"))
    }
}

/// A running Kamailio owned by this process; stopped on drop.
#[derive(Debug)]
pub struct Pbx {
    info: PbxInfo,
    child: Option<Child>,
    config: PathBuf,
    kamailio: PathBuf,
    remove_run_dir: bool,
    die_with_parent: bool,
    ready_timeout: Duration,
    ready_in: Duration,
}

impl Deref for Pbx {
    type Target = PbxInfo;
    fn deref(&self) -> &PbxInfo {
        &self.info
    }
}

impl Pbx {
    /// Starts the PBX on free loopback ports in a temporary run dir and
    /// returns once it answers SIP OPTIONS and accepts ws/wss connections.
    pub fn start() -> Result<Pbx, PbxError> {
        Pbx::start_with(PbxOptions::default())
    }

    pub fn start_with(opts: PbxOptions) -> Result<Pbx, PbxError> {
        let kamailio = find_tool("kamailio")?;
        let config = match &opts.config {
            Some(c) => c.clone(),
            None => default_config(),
        };
        if !config.is_file() {
            return Err(PbxError::RunDir(config, "kamailio config not found".into()));
        }
        let (run_dir, remove_run_dir) = match &opts.run_dir {
            Some(dir) => (dir.clone(), false),
            None => (temp_run_dir(), true),
        };
        fs::create_dir_all(&run_dir).map_err(io_err(format!("create {}", run_dir.display())))?;
        let run_dir = run_dir
            .canonicalize()
            .map_err(io_err(format!("resolve {}", run_dir.display())))?;
        let db_template = config.parent().map(|p| p.join("db")).unwrap_or_default();
        fresh_db(&db_template, &run_dir.join("db"))?;
        ensure_cert(&run_dir.join("certs"))?;
        let _ = fs::remove_file(run_dir.join(LOG_FILE));

        let ephemeral =
            opts.sip_port.is_none() || opts.ws_port.is_none() || opts.wss_port.is_none();
        let attempts = if ephemeral { PORT_ATTEMPTS } else { 1 };
        let mut last_tail = String::new();
        for _ in 0..attempts {
            let (sip_port, ws_port, wss_port) = pick_ports(&opts)?;
            let mut pbx = Pbx {
                info: PbxInfo {
                    run_dir: run_dir.clone(),
                    sip_port,
                    ws_port,
                    wss_port,
                    token: sip::random_hex(),
                },
                child: None,
                config: config.clone(),
                kamailio: kamailio.clone(),
                remove_run_dir,
                die_with_parent: opts.die_with_parent,
                ready_timeout: opts.ready_timeout.unwrap_or(DEFAULT_READY_TIMEOUT),
                ready_in: Duration::ZERO,
            };
            match pbx.spawn_and_wait() {
                Ok(()) => {
                    pbx.info.save()?;
                    return Ok(pbx);
                }
                Err(PbxError::Exited { log_tail, .. })
                    if ephemeral && log_tail.contains("Address already in use") =>
                {
                    // another process took a port between probe and bind
                    last_tail = log_tail;
                    pbx.remove_run_dir = false;
                    continue;
                }
                Err(e) => {
                    pbx.remove_run_dir = false;
                    drop(pbx);
                    if remove_run_dir && std::env::var_os("RINGSIDE_PBX_KEEP").is_none() {
                        let _ = fs::remove_dir_all(&run_dir);
                    }
                    return Err(e);
                }
            }
        }
        Err(PbxError::NoFreePorts(attempts, last_tail))
    }

    /// Stops Kamailio and starts it again on the same ports and run dir
    /// (location table and presence state are lost, as on a real restart;
    /// the REGISTER log keeps growing).
    pub fn restart(&mut self) -> Result<(), PbxError> {
        self.stop()?;
        // the old sockets are closed, but give a racing bind a few chances
        let mut last = None;
        for _ in 0..5 {
            match self.spawn_and_wait() {
                Ok(()) => return Ok(()),
                Err(PbxError::Exited {
                    status,
                    hint,
                    log_tail,
                }) if log_tail.contains("Address already in use") => {
                    last = Some(PbxError::Exited {
                        status,
                        hint,
                        log_tail,
                    });
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| PbxError::Sip("restart failed".into())))
    }

    /// SIGTERM, then SIGKILL after 5 s; also kills any Kamailio worker left
    /// behind. Idempotent.
    pub fn stop(&mut self) -> Result<(), PbxError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id();
        let workers = descendants(pid);
        signal(pid, libc::SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
            }
        }
        for worker in workers {
            if process_alive(worker) {
                signal(worker, libc::SIGKILL);
            }
        }
        kill_leftovers(&self.info.run_dir);
        Ok(())
    }

    /// PID of the Kamailio main process, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Time from spawning Kamailio to its first answer, last (re)start.
    pub fn ready_in(&self) -> Duration {
        self.ready_in
    }

    pub fn info(&self) -> &PbxInfo {
        &self.info
    }

    /// Whether the Kamailio main process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    fn spawn_and_wait(&mut self) -> Result<(), PbxError> {
        let run = &self.info.run_dir;
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.info.log_path())
            .map_err(io_err("open the kamailio log"))?;
        let log2 = log.try_clone().map_err(io_err("open the kamailio log"))?;
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
        let mut cmd = Command::new(&self.kamailio);
        cmd.arg("-f")
            .arg(&self.config)
            .args(["-DD", "-E", "-m", "64", "-M", "8", "-Y"])
            .arg(run)
            .arg("-P")
            .arg(self.info.pid_path())
            .arg(format!("--substdef=!PBX_RUN!{}!g", run.display()))
            .arg(format!("--substdef=!SIP_PORT!{}!g", self.info.sip_port))
            .arg(format!("--substdef=!WS_PORT!{}!g", self.info.ws_port))
            .arg(format!("--substdef=!WSS_PORT!{}!g", self.info.wss_port))
            .arg(format!("--substdef=!TRUST_TOKEN!{}!g", self.info.token))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        if self.die_with_parent {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe and touches no Rust state.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let started = Instant::now();
        let child = cmd.spawn().map_err(io_err("start kamailio"))?;
        self.child = Some(child);
        let deadline = started + self.ready_timeout;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    // a main process that failed late (e.g. a lost port race)
                    // may have forked workers that now hold the other ports
                    kill_leftovers(&self.info.run_dir);
                    let tail = log_tail_from(&self.info.log_path(), log_start, 40);
                    let hint = if tail.contains("could not find module")
                        || tail.contains("cannot open shared object")
                    {
                        format!(" — a module is missing: apt-get install {PACKAGES}")
                    } else {
                        String::new()
                    };
                    return Err(PbxError::Exited {
                        status: status.to_string(),
                        hint,
                        log_tail: tail,
                    });
                }
            }
            if self.answers() {
                self.ready_in = started.elapsed();
                return Ok(());
            }
            if Instant::now() >= deadline {
                let tail = log_tail_from(&self.info.log_path(), log_start, 40);
                let _ = self.stop();
                return Err(PbxError::Timeout(self.ready_timeout, tail));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIP OPTIONS over UDP answered 200, a WebSocket handshake on the ws
    /// port (so the TCP workers run, not just a listen backlog), and the wss
    /// port accepting connections.
    fn answers(&self) -> bool {
        let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        matches!(self.info.options_ping(Duration::from_millis(50)), Ok(200))
            && ws_handshake(addr(self.info.ws_port), Duration::from_millis(500))
            && TcpStream::connect_timeout(&addr(self.info.wss_port), Duration::from_millis(100))
                .is_ok()
    }
}

fn ws_handshake(addr: SocketAddr, timeout: Duration) -> bool {
    use std::io::Write;
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: sip\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(n) if n > 0 => got.extend_from_slice(buf.get(..n).unwrap_or_default()),
            _ => return false,
        }
    }
    got.starts_with(b"HTTP/1.1 101")
}

impl Drop for Pbx {
    fn drop(&mut self) {
        let _ = self.stop();
        if self.remove_run_dir && std::env::var_os("RINGSIDE_PBX_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.info.run_dir);
        }
    }
}

/// tests/pbx/kamailio.cfg of the checkout this crate was built from, or
/// `$RINGSIDE_PBX_CFG`.
pub fn default_config() -> PathBuf {
    if let Some(cfg) = std::env::var_os("RINGSIDE_PBX_CFG") {
        return PathBuf::from(cfg);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("pbx")
        .join("kamailio.cfg")
}

/// `kamailio` / `kamcmd` from $PATH or the Debian locations (a non-root
/// PATH often lacks /usr/sbin).
pub fn find_tool(name: &'static str) -> Result<PathBuf, PbxError> {
    let from_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    from_path
        .into_iter()
        .chain([
            Path::new("/usr/sbin").join(name),
            Path::new("/usr/bin").join(name),
        ])
        .find(|p| p.is_file())
        .ok_or(PbxError::NotInstalled(name))
}

fn temp_run_dir() -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "ringside-pbx-{}-{n}-{}",
        std::process::id(),
        sip::random_hex()
    ))
}

fn fresh_db(template: &Path, db: &Path) -> Result<(), PbxError> {
    if db.exists() {
        fs::remove_dir_all(db).map_err(io_err(format!("clear {}", db.display())))?;
    }
    fs::create_dir_all(db).map_err(io_err(format!("create {}", db.display())))?;
    let entries = fs::read_dir(template).map_err(io_err(format!(
        "read the db templates in {}",
        template.display()
    )))?;
    for entry in entries {
        let entry = entry.map_err(io_err("list the db templates"))?;
        let to = db.join(entry.file_name());
        fs::copy(entry.path(), &to).map_err(io_err(format!("copy {}", to.display())))?;
        // templates may be read-only in a checkout copy; db_text rewrites them
        let mut perms = fs::metadata(&to)
            .map_err(io_err("stat a db table"))?
            .permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        fs::set_permissions(&to, perms).map_err(io_err("make a db table writable"))?;
    }
    Ok(())
}

/// A self-signed P-256 certificate for 127.0.0.1/localhost/pbx.test (EC:
/// ~10x faster to make than RSA, and every client here accepts it).
fn ensure_cert(dir: &Path) -> Result<(), PbxError> {
    if dir.join("cert.pem").is_file() && dir.join("key.pem").is_file() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(io_err(format!("create {}", dir.display())))?;
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "30", "-subj", "/CN=127.0.0.1"])
        .args([
            "-addext",
            &format!("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:{DOMAIN}"),
        ])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .map_err(|e| {
            PbxError::Cert(format!("cannot run openssl ({e}); apt-get install openssl"))
        })?;
    if !out.status.success() {
        return Err(PbxError::Cert(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(())
}

/// Ports the OS says are free now. The SIP port must be free for UDP and
/// TCP alike. Kamailio binds them a moment later; a lost race is retried.
fn pick_ports(opts: &PbxOptions) -> Result<(u16, u16, u16), PbxError> {
    let free_tcp = || -> Result<TcpListener, PbxError> {
        TcpListener::bind("127.0.0.1:0").map_err(io_err("probe for a free TCP port"))
    };
    let port_of = |l: &TcpListener| {
        l.local_addr()
            .map(|a| a.port())
            .map_err(io_err("read a probed port"))
    };
    let mut held = Vec::new();
    let sip = match opts.sip_port {
        Some(p) => p,
        None => loop {
            let l = free_tcp()?;
            let p = port_of(&l)?;
            if let Ok(u) = UdpSocket::bind(("127.0.0.1", p)) {
                held.push(l);
                drop(u);
                break p;
            }
        },
    };
    let mut next = |fixed: Option<u16>| -> Result<u16, PbxError> {
        match fixed {
            Some(p) => Ok(p),
            None => {
                let l = free_tcp()?;
                let p = port_of(&l)?;
                held.push(l);
                Ok(p)
            }
        }
    };
    let ws = next(opts.ws_port)?;
    let wss = next(opts.wss_port)?;
    Ok((sip, ws, wss))
}

fn signal(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) on a PID this kit spawned (or one of its workers).
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

fn process_alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            // state is the field after the ")" closing the command name
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X") | None)
        })
        .unwrap_or(false)
}

/// SIGKILLs every process still running Kamailio with this run dir: orphaned
/// workers reparented to init escape [`descendants`]. The run dir is unique
/// to this kit, so nothing else matches.
fn kill_leftovers(run_dir: &Path) {
    let Ok(entries) = fs::read_dir("/proc") else {
        return;
    };
    let run_dir = run_dir.as_os_str().as_encoded_bytes();
    for pid in entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let mut args = cmdline.split(|b| *b == 0);
        let is_ours = args
            .clone()
            .next()
            .is_some_and(|exe| exe.ends_with(b"kamailio"))
            && args.any(|a| a == run_dir);
        if is_ours && process_alive(pid) {
            signal(pid, libc::SIGKILL);
        }
    }
}

/// PIDs whose parent chain leads to `pid` (Kamailio's forked workers).
pub fn descendants(pid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((p, ppid))
        })
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while let Some(&parent) = found.get(i) {
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

fn mwi_body(aor: &str, new: u32, old: u32) -> String {
    let waiting = if new > 0 { "yes" } else { "no" };
    format!("Messages-Waiting: {waiting}\r\nMessage-Account: {aor}\r\nVoice-Message: {new}/{old} (0/0)\r\n")
}

fn first_line(raw: &str) -> &str {
    raw.lines().next().unwrap_or_default()
}

fn contacts_in_dump(dump: &str, user: &str) -> Vec<String> {
    let mut current = None;
    let mut out = Vec::new();
    for line in dump.lines().map(str::trim) {
        if let Some(aor) = line.strip_prefix("AoR: ") {
            current = Some(aor.trim().to_string());
        } else if let Some(addr) = line.strip_prefix("Address: ") {
            if current.as_deref() == Some(user) {
                out.push(addr.trim().to_string());
            }
        }
    }
    out
}

fn register_times_in_log(log: &str, user: &str) -> Vec<SystemTime> {
    log.lines()
        .filter_map(|line| {
            let rest = line.split_once(REGISTER_MARK)?.1;
            let (who, rest) = rest.split_once(' ')?;
            if who != user {
                return None;
            }
            let ts = rest.strip_prefix("ts=")?.split_whitespace().next()?;
            let secs: f64 = ts.parse().ok()?;
            Some(UNIX_EPOCH + Duration::from_secs_f64(secs))
        })
        .collect()
}

fn log_tail(path: &Path, lines: usize) -> String {
    log_tail_from(path, 0, lines)
}

fn log_tail_from(path: &Path, offset: u64, lines: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        // the tail is all we show; skip a huge head
        let start = offset.max(len.saturating_sub(64 * 1024));
        let mut buf = Vec::new();
        if f.seek(SeekFrom::Start(start)).is_ok() && f.read_to_end(&mut buf).is_ok() {
            text = String::from_utf8_lossy(&buf).into_owned();
        }
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_read_per_aor() {
        let dump = "AoRs: {\n Info: {\n  AoR: 1001\n  Contacts: {\n   Contact: {\n    Address: sip:a@b.invalid;transport=ws\n\
                    }}}\n Info: {\n  AoR: 1002\n   Address: sip:c@d\n }}";
        assert_eq!(
            contacts_in_dump(dump, "1001"),
            vec!["sip:a@b.invalid;transport=ws"]
        );
        assert_eq!(contacts_in_dump(dump, "1002"), vec!["sip:c@d"]);
        assert!(contacts_in_dump(dump, "1003").is_empty());
    }

    #[test]
    fn register_lines_are_counted_per_user() {
        let log = " 1(9) NOTICE: {1 1 REGISTER x} <script>: RINGSIDE-REGISTER user=1001 ts=100.5 src=udp:127.0.0.1:1\n\
                   garbage RINGSIDE-REGISTER user=10011 ts=101.0 src=x\n\
                   RINGSIDE-REGISTER user=1001 ts=bad src=x\n\
                   RINGSIDE-REGISTER user=1001 ts=102.25 src=ws:127.0.0.1:2\n";
        let times = register_times_in_log(log, "1001");
        assert_eq!(
            times,
            vec![
                UNIX_EPOCH + Duration::from_millis(100_500),
                UNIX_EPOCH + Duration::from_millis(102_250)
            ]
        );
    }
}
