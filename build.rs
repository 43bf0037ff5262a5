//! Rebuilds the binary when a migration changes, because migrations are embedded in it, and
//! records the git commit it is built from for `lightsync --version` (LIGHTSYNC_GIT_COMMIT:
//! the short hash, or "unknown" outside a git checkout, e.g. from a crates.io tarball).
use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

/// Asks cargo to rerun this script when `path` changes; only for paths that exist, because a
/// missing path would make cargo rerun it on every build.
fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=LIGHTSYNC_GIT_COMMIT={commit}");
    // HEAD names the branch; the branch's ref (loose, or in packed-refs) names the commit. In a
    // worktree HEAD lives in the worktree's git directory and the refs in the common one.
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
        watch(&Path::new(&git_dir).join("HEAD"));
    }
    if let Some(common_dir) = git(&["rev-parse", "--git-common-dir"]) {
        let common_dir = Path::new(&common_dir);
        watch(&common_dir.join("packed-refs"));
        if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(&common_dir.join(reference));
        }
    }
}
