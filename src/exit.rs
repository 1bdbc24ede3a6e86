//! The exit status table (DESIGN.md "Exit statuses"): the one place that maps what happened in
//! a pass to the number cron, systemd and alerting rules see.

use std::process::ExitCode;

/// Every status `scaler` exits with. The numbers are a stable interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The pass completed and every decided action succeeded (or none was needed).
    Ok,
    /// An internal failure (a bug, or an I/O error on our own files).
    Internal,
    /// `plan --detailed-exitcode` only: the plan has changes.
    Changes,
    /// The pass completed but some actions failed, some records could not be
    /// read, or creation is suspended after a crash loop.
    Partial,
    /// Usage error (bad flags).
    Usage,
    /// A dependency (database, Redis, provider) was unavailable; nothing destructive was done.
    Unavailable,
    /// Another pass holds the lock; this one did nothing.
    Locked,
    /// Configuration error.
    Config,
}

impl Exit {
    /// The numeric process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Internal => 1,
            Exit::Changes => 2,
            Exit::Partial => 3,
            Exit::Usage => 64,
            Exit::Unavailable => 69,
            Exit::Locked => 75,
            Exit::Config => 78,
        }
    }
}

impl Exit {
    /// Every status, in numeric order (the table of README and the man page).
    pub const ALL: [Exit; 8] = [
        Exit::Ok,
        Exit::Internal,
        Exit::Changes,
        Exit::Partial,
        Exit::Usage,
        Exit::Unavailable,
        Exit::Locked,
        Exit::Config,
    ];

    /// The status with this number, if it is one of ours.
    pub fn from_code(code: u8) -> Option<Exit> {
        Exit::ALL.into_iter().find(|e| e.code() == code)
    }

    /// What the status means, as documented (README, man page).
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "pass completed; every decided action succeeded (or none was needed)",
            Exit::Internal => "internal failure",
            Exit::Changes => "`plan --detailed-exitcode` only: the plan has changes",
            Exit::Partial => {
                "partial: the pass completed but some actions failed, some records could not be read, or creation is suspended after instances were lost without registering (see `errors`)"
            }
            Exit::Usage => "usage error (bad flags)",
            Exit::Unavailable => {
                "a dependency (database, Redis, provider) was unavailable: nothing destructive was done"
            }
            Exit::Locked => "another pass holds the lock: this one did nothing",
            Exit::Config => {
                "configuration error (file missing, invalid TOML, unknown key, bad value, unusable state file, or a table the configuration names is missing or unreadable)"
            }
        }
    }
}

/// The exit status table as `--help` shows it: one line per status, in
/// numeric order, with the meaning of [`Exit::meaning`].
pub fn help_table() -> String {
    let mut table = String::from("Exit status:");
    for exit in Exit::ALL {
        table.push_str(&format!("\n  {:<3} {}", exit.code(), exit.meaning()));
    }
    table
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        let table = [
            (Exit::Ok, 0),
            (Exit::Internal, 1),
            (Exit::Changes, 2),
            (Exit::Partial, 3),
            (Exit::Usage, 64),
            (Exit::Unavailable, 69),
            (Exit::Locked, 75),
            (Exit::Config, 78),
        ];
        for (exit, code) in table {
            assert_eq!(exit.code(), code, "{exit:?}");
        }
    }
}
