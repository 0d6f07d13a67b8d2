//! The `flowc` binary: parses arguments, runs the command, exits with its code.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(flowc::cli::run(std::env::args_os()))
}
