// Records the source revision so every result file says which code produced it.
use std::path::Path;

fn main() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let rev = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=TORSIM_GIT_REVISION={rev}");
    // Rebuild when this checkout's HEAD or the branch it points to moves. Ask git where
    // they live: in a linked worktree `.git` is a file and the refs are shared with the
    // other worktrees. Only existing paths are named: a rerun-if-changed path that does
    // not exist reruns this script, and so rebuilds the crate, on every build.
    let mut watch = Vec::new();
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        watch.push(Path::new(&dir).join("HEAD"));
    }
    if let Some(common) = git(&["rev-parse", "--git-common-dir"]) {
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch.push(Path::new(&common).join(branch));
        }
        watch.push(Path::new(&common).join("packed-refs"));
    }
    for p in watch.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", p.display());
    }
}
