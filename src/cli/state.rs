//! flowc's state directory, `.flow/` (run journals in `.flow/runs`, step logs in
//! `.flow/logs`): when flowc creates one, it puts a `.gitignore` holding `*` in it, as cargo
//! does in `target/`, so that run state never ends up in a commit. The directory appears
//! with its `.gitignore` already inside (made in a temporary directory beside it, then
//! renamed into place), and an existing `.flow/` is left as it is: its `.gitignore`, or the
//! lack of one, is its owner's choice.

use std::io::Write as _;
use std::path::Path;

/// The name of a state directory.
pub const STATE_DIR: &str = ".flow";

/// What flowc writes into a `.flow/` it creates.
pub const GITIGNORE: &str = "# Created by flowc: run journals and logs, not sources.\n*\n";

/// Creates each `.flow` directory on the way to `dirs` (`./.flow` for `./.flow/runs`) that
/// does not exist yet, with its `.gitignore`. Does nothing for a directory that exists, or
/// whose path has no `.flow` in it; a directory that cannot be created is left for the
/// caller to find out about when it creates what it needs inside.
pub fn create_state_dirs(dirs: &[&Path]) {
    for dir in dirs {
        let mut state_dirs: Vec<&Path> = dir
            .ancestors()
            .filter(|a| a.file_name().is_some_and(|n| n == STATE_DIR))
            .collect();
        // The outermost first, so that each is made here and gets its `.gitignore`.
        state_dirs.reverse();
        for state_dir in state_dirs {
            create_state_dir(state_dir);
        }
    }
}

/// Creates the state directory `dir` with its `.gitignore`, unless it exists.
fn create_state_dir(dir: &Path) {
    if dir.symlink_metadata().is_ok() {
        return;
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.exists() {
        use std::os::unix::fs::DirBuilderExt;
        let made = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent);
        if made.is_err() {
            return;
        }
    }
    let Ok(tmp) = tempfile::Builder::new()
        .prefix(".flow-new-")
        .tempdir_in(parent)
    else {
        return;
    };
    // Private to its owner, as every state directory is (runs and logs hold what steps
    // print, and a journal the run's inputs).
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let written = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700))
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(tmp.path().join(".gitignore"))
        })
        .and_then(|mut f| f.write_all(GITIGNORE.as_bytes()));
    if written.is_err() {
        return;
    }
    // Fails when another flowc created it first: theirs stays, and this one is removed.
    if std::fs::rename(tmp.path(), dir).is_ok() {
        let _ = tmp.keep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_state_dir_gets_a_gitignore_and_an_existing_one_is_left_alone() {
        let root = tempfile::tempdir().expect("tempdir");
        let runs = root.path().join("a/.flow/runs");
        create_state_dirs(&[&runs, &root.path().join("a/.flow/logs/x")]);
        let made = root.path().join("a/.flow");
        assert_eq!(
            std::fs::read_to_string(made.join(".gitignore")).expect("written"),
            GITIGNORE
        );
        assert!(!runs.exists(), "only the state directory itself is made");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&made).expect("made").permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "private to its owner");
        let mode = std::fs::metadata(made.join(".gitignore"))
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "as every file of the state directory");
        let leftovers: Vec<_> = std::fs::read_dir(root.path().join("a"))
            .expect("listed")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers, [STATE_DIR], "no temporary directory is left");

        std::fs::write(made.join(".gitignore"), "mine\n").expect("written");
        create_state_dirs(&[&runs]);
        assert_eq!(
            std::fs::read_to_string(made.join(".gitignore")).expect("kept"),
            "mine\n"
        );

        let other = root.path().join("state/runs");
        create_state_dirs(&[&other]);
        assert!(!other.exists(), "a path without `.flow` is not touched");
    }
}
