//! A real OpenSSH server on loopback in front of the project's engine, and the ssh client set up to
//! reach it without touching the user's own ~/.ssh: Debian's `openssh-server` (`/usr/sbin/sshd`) runs
//! as the current user with a host key and an authorized user key made for this test binary, and
//! its sessions find the engine's `docker` CLI on PATH with DOCKER_HOST pointing at the test engine.
//!
//! The docker CLI and Buildlane both run `ssh` from PATH, so the client side is an `ssh` script put
//! first on this process's PATH that runs the real ssh with `-F <a config made here>` and notes each
//! argument list it was given.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The keys, the client's config and the `ssh` on PATH, made once per test binary.
struct Client {
    dir: PathBuf,
}

fn run(command: &mut Command) {
    let out = command.output().expect("runs");
    assert!(out.status.success(), "{command:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn keygen(path: &Path) {
    run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", ""]).arg("-f").arg(path));
}

fn client() -> &'static Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        assert!(
            Path::new("/usr/sbin/sshd").exists(),
            "/usr/sbin/sshd is missing: install Debian's openssh-server (scripts/setup.sh does)"
        );
        // Kept for the whole run (every test's server and the ssh script use these files), in cargo's
        // folder for integration tests' files rather than /tmp.
        let dir = tempfile::Builder::new().prefix("ssh-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap().keep();
        keygen(&dir.join("host_key"));
        keygen(&dir.join("user_key"));
        keygen(&dir.join("other_key"));
        std::fs::copy(dir.join("user_key.pub"), dir.join("authorized_keys")).unwrap();
        let host_key = std::fs::read_to_string(dir.join("host_key.pub")).unwrap();
        let host_key: Vec<&str> = host_key.split_whitespace().take(2).collect();
        std::fs::write(dir.join("known_hosts"), format!("* {}\n", host_key.join(" "))).unwrap();
        let d = dir.display();
        // `refused` is loopback reached with a key the server does not know.
        std::fs::write(
            dir.join("ssh_config"),
            format!(
                "Host refused\n  HostName 127.0.0.1\n  IdentityFile {d}/other_key\n\
                 Host * !refused\n  IdentityFile {d}/user_key\n\
                 Host *\n  IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n  \
                 StrictHostKeyChecking yes\n  BatchMode yes\n  LogLevel ERROR\n"
            ),
        )
        .unwrap();
        let bin = dir.join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(
            bin.join("ssh"),
            format!("#!/bin/sh\nprintf '%s\\n' \"$*\" >> {d}/argv.log\nexec /usr/bin/ssh -F {d}/ssh_config \"$@\"\n"),
        )
        .unwrap();
        run(Command::new("chmod").arg("755").arg(bin.join("ssh")));
        // Every test of this binary calls this first, under the OnceLock, before any of them runs ssh.
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        std::env::set_var("PATH", path);
        Client { dir }
    })
}

/// The argument lists `ssh` was run with, in order, that name `port`.
pub fn ssh_runs_to(port: u16) -> Vec<String> {
    let log = std::fs::read_to_string(client().dir.join("argv.log")).unwrap_or_default();
    log.lines().filter(|l| l.contains(&format!("-p {port} "))).map(str::to_owned).collect()
}

/// What the far side's sessions can run.
pub enum FarSide {
    /// The engine's docker CLI on PATH, DOCKER_HOST at the test engine.
    Docker { engine_host: String, docker_cli: PathBuf },
    /// No `docker` on PATH.
    NoDocker,
}

/// One sshd on a loopback port; stopped when dropped.
pub struct Sshd {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Sshd {
    pub fn start(far_side: FarSide) -> Sshd {
        let keys = client();
        let dir = tempfile::tempdir().unwrap();
        let far_bin = dir.path().join("bin");
        std::fs::create_dir(&far_bin).unwrap();
        let env = match far_side {
            FarSide::Docker { engine_host, docker_cli } => {
                std::os::unix::fs::symlink(docker_cli, far_bin.join("docker")).unwrap();
                format!("DOCKER_HOST={engine_host} PATH={}:/usr/bin:/bin", far_bin.display())
            }
            FarSide::NoDocker => format!("PATH={}", far_bin.display()),
        };
        // sshd running as root wants its privilege separation folder, which the package's service
        // would make; as another user it does without, and this cannot (nor needs to) make it.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = free_port();
        let k = keys.dir.display();
        let config = dir.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {k}/host_key\nAuthorizedKeysFile {k}/authorized_keys\n\
                 PidFile none\nStrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\nSetEnv {env}\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("sshd.log")).unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("sshd starts");
        let mut sshd = Sshd { port, child, _dir: dir };
        sshd.wait_until_listening();
        sshd
    }

    fn wait_until_listening(&mut self) {
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self._dir.path().join("sshd.log")).unwrap_or_default();
                panic!("sshd exited with {status}: {log}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("sshd did not listen on 127.0.0.1:{}", self.port);
    }

    /// How many ssh connections the server accepted (a login each, which sshd logs).
    pub fn logins(&self) -> usize {
        let log = std::fs::read_to_string(self._dir.path().join("sshd.log")).unwrap_or_default();
        log.lines().filter(|l| l.contains("Accepted publickey")).count()
    }

    /// `ssh://user@127.0.0.1:PORT`
    pub fn url(&self, user: &str) -> String {
        format!("ssh://{user}@127.0.0.1:{}", self.port)
    }

    /// The same server reached with a key it refuses.
    pub fn refused_url(&self, user: &str) -> String {
        format!("ssh://{user}@refused:{}", self.port)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

/// The user sshd logs in: the one running the tests.
pub fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("id runs");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Kills (SIGKILL) every ssh process this test binary started towards `port`, found by its arguments
/// in /proc; returns how many there were.
pub fn kill_ssh_to(port: u16) -> usize {
    let ours = std::process::id().to_string();
    let mut killed = 0;
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let (Ok(cmdline), Ok(status)) =
            (std::fs::read(entry.path().join("cmdline")), std::fs::read_to_string(entry.path().join("status")))
        else {
            continue;
        };
        let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let parent = status.lines().find_map(|l| l.strip_prefix("PPid:")).map(str::trim);
        let is_ours = args.first().is_some_and(|a| a == "/usr/bin/ssh")
            && args.windows(2).any(|w| w[0] == "-p" && w[1] == port.to_string())
            && parent == Some(ours.as_str());
        if is_ours {
            run(Command::new("kill").arg("-KILL").arg(entry.file_name()));
            killed += 1;
        }
    }
    killed
}
