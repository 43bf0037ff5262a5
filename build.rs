//! Rebuilds the binary when a migration changes, because migrations are embedded in it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
