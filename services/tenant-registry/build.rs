//! Rebuilds the service when a migration is added: the embedded migrations are
//! read at compile time, and a new migration folder changes no source file.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations/tenant-registry");
}
