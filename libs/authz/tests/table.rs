//! The whole permission table, role × resource × action, written to
//! `docs/authz-table.txt`: reviewers see every change to who may do what as a diff
//! of that file, and this test fails when the code and the file disagree.

// Test code: a panic is how it reports a broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::PathBuf;

use plinth_authz::{Action, Resource, allows};
use plinth_core::Role;

fn table() -> String {
    let mut out = String::from(
        "# Who may do what in Plinth: role × resource × action.\n\
         # Generated from libs/authz (permissions.rs) by libs/authz/tests/table.rs;\n\
         # rewrite with `PLINTH_UPDATE_SNAPSHOTS=1 cargo nextest run -p plinth-authz table`.\n\
         # Platform roles act on the tenants they are bound to; tenant roles on their own.\n\n",
    );
    let _ = write!(out, "{:<17} {:<7}", "resource", "action");
    for role in Role::ALL {
        let _ = write!(out, " {:>16}", role.as_str());
    }
    out.push('\n');
    for resource in Resource::ALL {
        for action in Action::ALL {
            let _ = write!(out, "{:<17} {:<7}", resource.as_str(), action.as_str());
            for role in Role::ALL {
                let mark = if allows(&[role], resource, action) {
                    "yes"
                } else {
                    "-"
                };
                let _ = write!(out, " {mark:>16}");
            }
            out.push('\n');
        }
    }
    out
}

#[test]
fn the_checked_in_permission_table_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/authz-table.txt");
    let generated = table();
    if std::env::var_os("PLINTH_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is out of date: run `PLINTH_UPDATE_SNAPSHOTS=1 cargo nextest run -p plinth-authz \
         table` and review the diff",
        path.display()
    );
}
