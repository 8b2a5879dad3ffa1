//! `buildlane build --ssh` lends a build step the user's ssh-agent, or private key files, as
//! `docker buildx build --ssh` does: the step lists the keys and has them sign, cannot remove them
//! from an agent, and a step that requires an agent the build was not given, or a key file buildx
//! cannot read, fails in buildx's words. A real `ssh-agent` holds a fresh key, and `ssh-keygen`
//! makes the key files; the step runs the machine's own `ssh-add`, copied with its libraries onto
//! busybox.
//! Needs the project's engine and registry (`eval "$(scripts/engine.sh env)"`).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use support::{docker_config, required};

/// An `ssh-agent` of the test's own holding one new ed25519 key; stopped when dropped.
struct Agent {
    process: Child,
    socket: PathBuf,
    public_key: PathBuf,
}

impl Agent {
    fn start(folder: &Path) -> Agent {
        let socket = folder.join("agent.sock");
        let process = Command::new("ssh-agent").arg("-D").arg("-a").arg(&socket).spawn().expect("ssh-agent runs");
        while !socket.exists() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let key = folder.join("id_ed25519");
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "buildlane-ssh-test", "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(made.success(), "ssh-keygen");
        let mut agent = Agent { process, socket, public_key: key.with_extension("pub") };
        assert!(agent.ssh_add(&[key.as_os_str()]).status.success(), "ssh-add");
        if let Some(status) = agent.process.try_wait().unwrap() {
            panic!("ssh-agent ended: {status}");
        }
        agent
    }

    fn ssh_add(&self, args: &[&std::ffi::OsStr]) -> std::process::Output {
        Command::new("ssh-add").args(args).env("SSH_AUTH_SOCK", &self.socket).output().unwrap()
    }

    /// `ssh-add -l`: the agent's keys, as a step lists them.
    fn keys(&self) -> String {
        String::from_utf8(self.ssh_add(&["-l".as_ref()]).stdout).unwrap()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A context whose image has `ssh-add` (the machine's, with the libraries it links) and the key's
/// public half at /key.pub.
fn context(folder: &Path, agent: &Agent) -> PathBuf {
    context_with(folder, &agent.public_key)
}

/// A context whose image has `ssh-add` and `public_key` at /key.pub.
fn context_with(folder: &Path, public_key: &Path) -> PathBuf {
    let ctx = folder.join("ctx");
    let tools = ctx.join("tools");
    let ssh_add = Path::new("/usr/bin/ssh-add");
    let ldd = Command::new("ldd").arg(ssh_add).output().unwrap();
    let libraries = String::from_utf8(ldd.stdout).unwrap();
    let files = libraries.split_whitespace().filter(|w| w.starts_with('/')).map(Path::new).chain([ssh_add]);
    for file in files {
        let copy = tools.join(file.strip_prefix("/").unwrap());
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(file, copy).unwrap();
    }
    std::fs::copy(public_key, ctx.join("key.pub")).unwrap();
    ctx
}

fn dockerfile(steps: &str) -> String {
    format!(
        "FROM {}/busybox:latest AS s\nCOPY tools/ /\nCOPY key.pub /\n{steps}\nFROM scratch\nCOPY --from=s /out /\n",
        required("BUILDLANE_REGISTRY")
    )
}

/// `PROGRAM ARGS… -o DEST ctx` from `folder` with `SSH_AUTH_SOCK` set; what it wrote into /out.
fn built(folder: &Path, config: &Path, program: &Path, args: &[&str], socket: &Path, dest: &str) -> String {
    let mut command = Command::new(program);
    command.args(args).args(["--no-cache", "-o", dest, "ctx"]).current_dir(folder);
    let out = support::output_with(command, config, &[("SSH_AUTH_SOCK", socket.to_str().unwrap())]);
    assert!(out.status.success(), "{program:?} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(folder.join(dest).join("out")).unwrap()
}

#[test]
fn a_step_lists_and_signs_with_the_users_agent_but_cannot_empty_it_as_with_buildx() {
    let config = docker_config();
    let work = tempfile::tempdir().unwrap();
    let agent = Agent::start(work.path());
    let ctx = context(work.path(), &agent);
    let steps = "RUN --mount=type=ssh (ssh-add -l; ssh-add -T /key.pub && echo signed; ssh-add -D; echo \"removing: $?\") > /out 2>&1\n\
                 RUN --mount=type=ssh,id=deploy ssh-add -l >> /out 2>&1";
    std::fs::write(ctx.join("Dockerfile"), dockerfile(steps)).unwrap();
    let buildx = Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker");
    let buildlane = Path::new(env!("CARGO_BIN_EXE_buildlane"));
    let deploy = format!("deploy={}", agent.socket.display());
    let flags = ["--ssh", "default", "--ssh", &deploy];

    let ours = built(work.path(), config.path(), buildlane, &[&["build"][..], &flags].concat(), &agent.socket, "ours");
    let theirs = built(
        work.path(),
        config.path(),
        &buildx,
        &[&["buildx", "build"][..], &flags].concat(),
        &agent.socket,
        "theirs",
    );

    let key = agent.keys();
    assert!(key.contains("buildlane-ssh-test (ED25519)"), "{key}");
    assert_eq!(ours, format!("{key}signed\nFailed to remove all identities.\nremoving: 1\n{key}"));
    assert_eq!(ours, theirs);
    assert_eq!(agent.keys(), key, "the agent still holds its key");
}

#[test]
fn a_step_that_requires_an_agent_the_build_was_not_given_fails_in_buildx_words() {
    let config = docker_config();
    let work = tempfile::tempdir().unwrap();
    let agent = Agent::start(work.path());
    let ctx = context(work.path(), &agent);
    std::fs::write(ctx.join("Dockerfile"), dockerfile("RUN --mount=type=ssh,required=true ssh-add -l > /out")).unwrap();

    let mut command = Command::new(env!("CARGO_BIN_EXE_buildlane"));
    command.args(["build", "--no-cache", "ctx"]).current_dir(work.path());
    let out = support::output(command, config.path());

    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.trim_end().ends_with(": unset ssh forward key default"), "{stderr}");
    let mut without_agent = Command::new(env!("CARGO_BIN_EXE_buildlane"));
    without_agent.args(["build", "--ssh", "default", "ctx"]).current_dir(work.path());
    let out = support::output(without_agent, config.path());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "buildlane: invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set"
    );
}

/// A new private key from `ssh-keygen -t KIND` at `folder/NAME`, with `passphrase`.
fn keygen(folder: &Path, name: &str, kind: &str, passphrase: &str) -> PathBuf {
    let key = folder.join(name);
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", passphrase, "-C", &format!("{name} comment"), "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success(), "ssh-keygen -t {kind}");
    key
}

/// `ssh-keygen -l`'s fingerprint of a key (`SHA256:…`).
fn fingerprint(key: &Path) -> String {
    let out = Command::new("ssh-keygen").arg("-lf").arg(key.with_extension("pub")).output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().nth(1).unwrap().to_owned()
}

#[test]
fn a_step_lists_and_signs_with_key_files_as_with_buildx() {
    let config = docker_config();
    let work = tempfile::tempdir().unwrap();
    let keys = [
        keygen(work.path(), "id_ed25519", "ed25519", ""),
        keygen(work.path(), "id_rsa", "rsa", ""),
        keygen(work.path(), "id_ecdsa", "ecdsa", ""),
    ];
    let ctx = context_with(work.path(), &keys[0].with_extension("pub"));
    std::fs::copy(keys[1].with_extension("pub"), ctx.join("rsa.pub")).unwrap();
    let steps = "COPY rsa.pub /\n\
                 RUN --mount=type=ssh (ssh-add -l; ssh-add -T /key.pub && echo signed) > /out 2>&1\n\
                 RUN --mount=type=ssh,id=deploy (ssh-add -l; ssh-add -T /rsa.pub && echo signed) >> /out 2>&1\n\
                 RUN --mount=type=ssh (ssh-add -D; echo \"removing: $?\"; ssh-add -l; true) >> /out 2>&1";
    std::fs::write(ctx.join("Dockerfile"), dockerfile(steps)).unwrap();
    let buildx = Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker");
    let buildlane = Path::new(env!("CARGO_BIN_EXE_buildlane"));
    let all = format!("default={},{},{}", keys[0].display(), keys[1].display(), keys[2].display());
    let deploy = format!("deploy={}", keys[1].display());
    let flags = ["--ssh", &all, "--ssh", &deploy];
    let no_agent = Path::new("");

    let ours = built(work.path(), config.path(), buildlane, &[&["build"][..], &flags].concat(), no_agent, "ours");
    let theirs =
        built(work.path(), config.path(), &buildx, &[&["buildx", "build"][..], &flags].concat(), no_agent, "theirs");

    let mut lines = ours.lines();
    for key in &keys {
        let line = lines.next().unwrap();
        assert!(line.contains(&fingerprint(key)), "{ours}");
        assert!(!line.contains("comment"), "listed without the file's comment, as buildx lists it: {ours}");
    }
    assert_eq!(lines.next(), Some("signed"), "{ours}");
    let rsa = lines.next().unwrap();
    assert!(rsa.contains(&fingerprint(&keys[1])) && rsa.ends_with("(RSA)"), "{ours}");
    assert_eq!(lines.next(), Some("signed"), "{ours}");
    // buildx hands a step its keyring of key files as it is, so the step may empty it; Buildlane
    // refuses, as it refuses it for an agent's socket. Up to that step, the two agree.
    let (before, removing) = ours.split_at(ours.find("Failed to remove all identities.").expect(&ours));
    let their_removing = theirs.find("All identities removed.").expect(&theirs);
    assert_eq!(before, &theirs[..their_removing]);
    assert_eq!(
        removing,
        format!(
            "Failed to remove all identities.\nremoving: 1\n{before_listing}",
            before_listing = &before[..before.find("signed").unwrap()]
        )
    );
    assert_eq!(&theirs[their_removing..], "All identities removed.\nremoving: 0\nThe agent has no identities.\n");
}

#[test]
fn key_files_buildx_cannot_use_are_refused_in_its_words() {
    let config = docker_config();
    let work = tempfile::tempdir().unwrap();
    let ctx = work.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM scratch\n").unwrap();
    let key = keygen(work.path(), "id_ed25519", "ed25519", "");
    let locked = keygen(work.path(), "id_locked", "ed25519", "pass");
    let socket = work.path().join("agent.sock");
    let _listening = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let (key, locked, socket) = (key.display(), locked.display(), socket.display());

    let cases = [
        (
            format!("default={locked}"),
            format!("failed to parse {locked}: ssh: this private key is passphrase protected"),
        ),
        (format!("default={key}.pub"), format!("failed to parse {key}.pub: ssh: no key found")),
        (format!("default={key},{socket}"), "invalid combination of keys and sockets".to_owned()),
        (format!("default={socket},{key}"), "only single socket allowed".to_owned()),
    ];
    for (spec, expected) in cases {
        let (ours, theirs) = support::refused_by_both(work.path(), config.path(), &["--ssh", &spec, "ctx"]);
        assert_eq!(ours, theirs, "--ssh {spec}");
        assert_eq!(ours, expected, "--ssh {spec}");
    }
}
