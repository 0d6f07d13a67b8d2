//! The `flowc` binary: parses arguments, runs the command, exits with its code.

// Compiling a large workflow makes millions of small allocations; mimalloc serves them
// markedly faster than the system allocator (see benches/check.sh). Its `no_thp` feature
// keeps transparent huge pages off, which otherwise cost a small run a millisecond of
// page zeroing. Build with `--no-default-features` for the system allocator, which heap
// profilers such as valgrind's massif can see into.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(flowc::cli::run(std::env::args_os()))
}
