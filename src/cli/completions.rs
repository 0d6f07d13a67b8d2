//! `flowc completions SHELL`: prints a completion script for bash, zsh, fish, elvish or
//! PowerShell.

use clap::CommandFactory;

/// Arguments of `flowc completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Prints the script to stdout.
pub fn run(args: CompletionsArgs) -> u8 {
    let mut cmd = super::Cli::command();
    // Into memory first: clap_complete panics when its writer fails.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "flowc", &mut script);
    super::out::write(super::out::Stream::Stdout, &script);
    super::EXIT_OK
}
