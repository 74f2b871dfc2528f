//! `ringside-pbx`: the test PBX for node tests and the xtask.
//!
//! ```text
//! ringside-pbx serve [--sip-port N] [--ws-port N] [--wss-port N] [--run-dir DIR] [--timeout-ms N]
//!     Starts Kamailio, prints ONE JSON line when it answers, then runs until
//!     SIGTERM/SIGINT or EOF on a piped stdin, and stops Kamailio. SIGHUP
//!     restarts Kamailio on the same ports and prints a new JSON line.
//! ringside-pbx ul-dump        --run-dir DIR
//! ringside-pbx contacts       --run-dir DIR --user U            (JSON array)
//! ringside-pbx register-count --run-dir DIR --user U [--since UNIX_SECONDS]
//! ringside-pbx inject-mwi     --run-dir DIR --user U --new N --old N [--unsolicited]
//! ```

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use ringside_testkit::{Pbx, PbxError, PbxInfo, PbxOptions};

static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNAL.store(sig, Ordering::SeqCst);
}

const USAGE: &str = "usage: ringside-pbx serve [--sip-port N] [--ws-port N] [--wss-port N] [--run-dir DIR] [--timeout-ms N]
       ringside-pbx ul-dump --run-dir DIR
       ringside-pbx contacts --run-dir DIR --user U
       ringside-pbx register-count --run-dir DIR --user U [--since UNIX_SECONDS]
       ringside-pbx inject-mwi --run-dir DIR --user U --new N --old N [--unsolicited]";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match run(&args) {
        Ok(()) => 0,
        Err(msg) => {
            eprintln!("ringside-pbx: {msg}");
            1
        }
    };
    std::process::exit(code);
}

struct Args {
    flags: Vec<(String, Option<String>)>,
}

impl Args {
    fn parse(args: &[String], switches: &[&str]) -> Result<Args, String> {
        let mut flags = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let Some(name) = a.strip_prefix("--") else {
                return Err(format!("unexpected argument `{a}`\n{USAGE}"));
            };
            if switches.contains(&name) {
                flags.push((name.to_string(), None));
            } else {
                let v = it
                    .next()
                    .ok_or_else(|| format!("--{name} needs a value\n{USAGE}"))?;
                flags.push((name.to_string(), Some(v.clone())));
            }
        }
        Ok(Args { flags })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(n, _)| n == name)
    }

    fn need(&self, name: &str) -> Result<&str, String> {
        self.get(name)
            .ok_or_else(|| format!("--{name} is required\n{USAGE}"))
    }

    fn num<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        self.get(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| format!("--{name}: `{v}` is not a valid number"))
            })
            .transpose()
    }

    fn check_known(&self, known: &[&str]) -> Result<(), String> {
        match self
            .flags
            .iter()
            .find(|(n, _)| !known.contains(&n.as_str()))
        {
            Some((n, _)) => Err(format!("unknown option --{n}\n{USAGE}")),
            None => Ok(()),
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err(USAGE.to_string());
    };
    let e = |err: PbxError| err.to_string();
    match cmd.as_str() {
        "serve" => serve(&Args::parse(rest, &[])?),
        "ul-dump" => {
            let a = Args::parse(rest, &[])?;
            a.check_known(&["run-dir"])?;
            print!("{}", attach(&a)?.ul_dump().map_err(e)?);
            Ok(())
        }
        "contacts" => {
            let a = Args::parse(rest, &[])?;
            a.check_known(&["run-dir", "user"])?;
            let contacts = attach(&a)?.contacts(a.need("user")?).map_err(e)?;
            println!("{}", serde_json::Value::from(contacts));
            Ok(())
        }
        "register-count" => {
            let a = Args::parse(rest, &[])?;
            a.check_known(&["run-dir", "user", "since"])?;
            let info = attach(&a)?;
            let user = a.need("user")?;
            let n = match a.num::<f64>("since")? {
                Some(s) if s.is_finite() && s >= 0.0 => info
                    .register_count_since(user, UNIX_EPOCH + Duration::from_secs_f64(s))
                    .map_err(e)?,
                Some(_) => return Err("--since must be a non-negative number of seconds".into()),
                None => info.register_count(user).map_err(e)?,
            };
            println!("{n}");
            Ok(())
        }
        "inject-mwi" => {
            let a = Args::parse(rest, &["unsolicited"])?;
            a.check_known(&["run-dir", "user", "new", "old", "unsolicited"])?;
            let info = attach(&a)?;
            let user = a.need("user")?;
            let new = a.num::<u32>("new")?.unwrap_or(0);
            let old = a.num::<u32>("old")?.unwrap_or(0);
            if a.has("unsolicited") {
                let status = info.inject_mwi_unsolicited(user, new, old).map_err(e)?;
                println!("{status}");
            } else {
                info.inject_mwi(user, new, old).map_err(e)?;
            }
            Ok(())
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    }
}

fn attach(a: &Args) -> Result<PbxInfo, String> {
    PbxInfo::load(&PathBuf::from(a.need("run-dir")?)).map_err(|e| e.to_string())
}

fn serve(a: &Args) -> Result<(), String> {
    a.check_known(&["sip-port", "ws-port", "wss-port", "run-dir", "timeout-ms"])?;
    let opts = PbxOptions {
        sip_port: a.num("sip-port")?,
        ws_port: a.num("ws-port")?,
        wss_port: a.num("wss-port")?,
        run_dir: a.get("run-dir").map(PathBuf::from),
        ready_timeout: a.num::<u64>("timeout-ms")?.map(Duration::from_millis),
        // Kamailio must not outlive a serve killed with SIGKILL
        die_with_parent: true,
        ..PbxOptions::default()
    };
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic.
        unsafe {
            libc::signal(
                sig,
                on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
    }
    let mut pbx = Pbx::start_with(opts).map_err(|e| e.to_string())?;
    announce(&pbx)?;

    let stdin_closed = Arc::new(AtomicBool::new(false));
    if stdin_is_pipe() {
        let flag = Arc::clone(&stdin_closed);
        std::thread::spawn(move || {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            flag.store(true, Ordering::SeqCst);
        });
    }

    loop {
        std::thread::sleep(Duration::from_millis(20));
        match SIGNAL.swap(0, Ordering::SeqCst) {
            0 => {}
            libc::SIGHUP => {
                pbx.restart().map_err(|e| e.to_string())?;
                announce(&pbx)?;
            }
            _ => break,
        }
        if stdin_closed.load(Ordering::SeqCst) {
            break;
        }
        if !pbx.is_running() {
            return Err(format!(
                "kamailio exited unexpectedly; log tail:\n{}",
                pbx.log_tail(30)
            ));
        }
    }
    pbx.stop().map_err(|e| e.to_string())
}

fn announce(pbx: &Pbx) -> Result<(), String> {
    let line = pbx.to_json(pbx.pid(), Some(pbx.ready_in().as_millis()));
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))
}

/// EOF on stdin means "stop" only for a pipe or socket a parent holds;
/// /dev/null or a terminal would otherwise stop the PBX at once.
fn stdin_is_pipe() -> bool {
    // SAFETY: fstat on fd 0 into a zeroed, owned struct.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(0, &mut st) != 0 {
            return false;
        }
        let kind = st.st_mode & libc::S_IFMT;
        kind == libc::S_IFIFO || kind == libc::S_IFSOCK
    }
}
