//! Rebuilds the service when a migration or a pack schema is added: both are read
//! at compile time, and a new file changes no source file.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations/pack-service");
    println!("cargo:rerun-if-changed=../../schemas/json");
}
