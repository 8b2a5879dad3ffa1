//! `.dockerignore`: Buildlane sends exactly the files `docker buildx build` sends. Each context is
//! built with `COPY . /ctx` into a local folder by Buildlane and by buildx 0.13.1 (the oracle) on the
//! same engine, and the two folders must hold the same entries.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use buildlane_core::builds::{BuildOutput, BuildRequest, BuildState};
use support::build::{build, context, request, Seen};
use support::World;

const DOCKERFILE: &str = "FROM scratch\nCOPY . /ctx\n";

/// Every path under `root`, relative, folders included.
fn entries(root: &Path) -> BTreeSet<String> {
    fn visit(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.insert(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if path.symlink_metadata().unwrap().is_dir() {
                visit(root, &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    visit(root, root, &mut out);
    out
}

/// What Buildlane and what buildx put in `/ctx` for a context of `files` and this `.dockerignore`.
async fn sent_by_both(world: &World, dockerignore: &str, files: &[&str]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut spec: Vec<(&str, &str)> = files.iter().map(|f| (*f, *f)).collect();
    spec.push(("Dockerfile", DOCKERFILE));
    spec.push((".dockerignore", dockerignore));
    let ctx = context(&spec);
    let out = tempfile::tempdir().unwrap();

    let ours = out.path().join("buildlane");
    let output = BuildOutput::local(ours.to_string_lossy().into_owned());
    let outcome =
        build(world, BuildRequest { outputs: vec![output], no_cache: true, ..request(&ctx) }, &Seen::default()).await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);

    let theirs = out.path().join("buildx");
    let dest = format!("type=local,dest={}", theirs.display());
    world.docker_ok(&[
        "buildx",
        "build",
        "--progress",
        "quiet",
        "--no-cache",
        "--output",
        &dest,
        ctx.path().to_str().unwrap(),
    ]);
    (entries(&ours.join("ctx")), entries(&theirs.join("ctx")))
}

fn set(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| p.to_string()).collect()
}

#[tokio::test]
async fn an_exception_elsewhere_does_not_bring_back_the_children_of_an_excluded_folder() {
    let world = World::new();
    let (ours, buildx) = sent_by_both(
        &world,
        "**/.git\n!.gitignore\n**/secrets\n",
        &[".git/config", ".git/HEAD", ".gitignore", "secrets/key", "a/secrets/key", "b/.git/config", "src/x"],
    )
    .await;
    assert_eq!(buildx, set(&[".dockerignore", ".gitignore", "Dockerfile", "a", "b", "src", "src/x"]));
    assert_eq!(ours, buildx);
}

#[tokio::test]
async fn exceptions_inside_excluded_folders_globs_cleaning_and_escapes_match_buildx() {
    let world = World::new();
    let files = [
        "docs/README.md",
        "docs/guide/intro.md",
        "docs/guide/keep.txt",
        "build/out.o",
        "build/keep/me.txt",
        "logs/a.log",
        "logs/deep/b.log",
        "logs/deep/keep.log",
        "star*name",
        "starXname",
        "class/a1",
        "class/b1",
        "class/z9",
        "vendor/x/vendor/y",
        "vendor.txt",
        "dir/sub/file.tmp",
        "dir/file.tmp",
        "tmp/only/child",
        "notfile",
        "sub/myfile",
        "a/f",
        "b/f",
    ];
    let cases = [
        // A folder excluded, one file inside it re-included, and a glob exception deeper down.
        "docs\n!docs/README.md\n!docs/**/*.txt\n",
        // Leading slash, `.`/`..` cleaning and a trailing slash, with an exception below the folder.
        "/build/\n!./build/../build/keep\n",
        // `**` forms with exceptions that re-include by glob, and later patterns overriding.
        "**/*.log\n!**/keep.log\nlogs/deep\n!logs/deep/keep.log\n",
        // An escaped `*`, a character class, a negated class and `?`.
        "star\\*name\nclass/[a-b]?\n!class/[^a]1\n",
        // A name matching at any depth only through `**/`, and one at the root only.
        "**/vendor\nvendor.txt\n!vendor/x\n",
        // A folder excluded by `**/*.tmp`-like globs and a folder whose only child is excluded.
        "dir/**/*.tmp\ntmp/only\n",
        // Exceptions first and patterns after them, then everything and back.
        "!docs\n**\n!docs/guide\n!Dockerfile\n!.dockerignore\n",
        // `**` first is a suffix match: `**file` also matches `notfile`.
        "**file\n",
        // An exception evaluated at a file is not evaluated again at its folder: `a/f` stays excluded.
        "**/f\n!a\n",
    ];
    for dockerignore in cases {
        let (ours, buildx) = sent_by_both(&world, dockerignore, &files).await;
        assert_eq!(ours, buildx, ".dockerignore:\n{dockerignore}");
    }
}
