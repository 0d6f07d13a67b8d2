//! Leftover processes: the process groups a killed driver left behind, found and killed
//! before a resume.

use super::*;

/// The process groups of live processes that belong to `run_id`: every process whose
/// environment carries `FLOW_RUN_ID=<run_id>`. This finds the groups recorded in flight,
/// and also a step whose start record never reached the disk.
pub fn leftover_groups(run_id: &str) -> Vec<i32> {
    let marker = format!("{RUN_ID_ENV}={run_id}");
    let mut groups: Vec<i32> = Vec::new();
    // Never this process's own group (a flowc started from a step of the same run).
    let own = nix::unistd::getpgrp().as_raw();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return groups;
    };
    for e in entries.filter_map(Result::ok) {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the `(comm)`, which may itself hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(state), Some(pgid)) = (
            fields.first(),
            fields.get(2).and_then(|g| g.parse::<i32>().ok()),
        ) else {
            continue;
        };
        if *state == "Z" || *state == "X" {
            continue;
        }
        let ours = std::fs::read(format!("/proc/{pid}/environ"))
            .map(|env| env.split(|&b| b == 0).any(|kv| kv == marker.as_bytes()))
            .unwrap_or(false);
        if ours && pgid > 1 && pgid != own && !groups.contains(&pgid) {
            groups.push(pgid);
        }
    }
    groups
}

/// Kills (SIGKILL) the leftover process groups of a run and waits up to two seconds for
/// them to go. Returns the groups it killed.
pub fn kill_leftovers(run_id: &str) -> Vec<i32> {
    use nix::sys::signal::{killpg, Signal};
    use nix::unistd::Pid;
    let groups = leftover_groups(run_id);
    for &g in &groups {
        if g > 1 {
            let _ = killpg(Pid::from_raw(g), Signal::SIGKILL);
        }
    }
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while !groups.is_empty()
        && !leftover_groups(run_id).is_empty()
        && std::time::Instant::now() < until
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    groups
}
