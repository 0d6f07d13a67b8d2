//! `flowc pause RUN [--wait]`: asks a live run to pause. Its driver starts nothing new (no
//! step, no retry, no fan-out instance), lets the running steps finish, runs no
//! compensation and no `finally` step, records the run `paused` and exits; `flowc resume
//! RUN` continues it. The request goes the way `flowc cancel` goes: filed in the run
//! directory, then SIGINT to the driver, which reads it (see `journal::request`).

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::out::errln;
use crate::runtime::journal::{self, RunState};

/// Arguments of `flowc pause`.
#[derive(Debug, clap::Args)]
pub struct PauseArgs {
    /// The run id, or a unique prefix.
    #[arg(value_name = "RUN_ID", required_unless_present = "last")]
    pub run: Option<String>,
    /// Pause the newest run.
    #[arg(long, conflicts_with = "run")]
    pub last: bool,
    /// Wait until the running steps have finished and the driver has stopped.
    #[arg(long)]
    pub wait: bool,
    /// Where run journals are (default: `FLOWC_STATE_DIR`, else ./.flow/runs).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// Asks the run's driver to pause; exit 0 when it was asked (with `--wait`: when the run
/// paused), 1 when the run is not live (E0510) or ended otherwise, 2 when another
/// operator holds it (E0506).
pub fn run(args: PauseArgs) -> u8 {
    let Some(dir) = super::resume::find_run(args.state_dir.as_deref(), args.run.as_deref()) else {
        return super::EXIT_USAGE;
    };
    let run = journal::run_of(&dir);
    let driver = match super::runs::ask_driver(&dir, "pause") {
        Ok(driver) => driver,
        Err(code) => return code,
    };
    if !args.wait {
        errln!(
            "asked run {run} to pause (driver pid {}): its running steps finish, nothing new starts; `flowc pause {run} --wait` waits for it, `flowc resume {run}` continues it",
            driver.pid
        );
        return super::EXIT_OK;
    }
    errln!(
        "pausing run {run} (driver pid {}): waiting for its running steps to finish",
        driver.pid
    );
    while journal::holder_of(&dir).is_some_and(|h| h == driver) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = RunState::load(&dir).map(|s| s.status()).unwrap_or_default();
    if status == "paused" {
        errln!(
            "run {run} paused; `flowc resume {run}` continues it, `flowc rollback {run}` undoes it"
        );
        super::EXIT_OK
    } else {
        errln!("run {run} ended {status} before it could pause");
        super::EXIT_FINDINGS
    }
}
