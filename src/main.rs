//! The `scaler` binary: everything happens in the library.

fn main() -> std::process::ExitCode {
    scaler::main().into()
}
