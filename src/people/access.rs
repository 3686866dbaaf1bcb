//! What each role may do: one matrix ([`granted`]). The API checks a route's permission in one
//! place (`api::auth`), never in handlers.

use super::Role;

/// A permission a route (or command) needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Who am I: every signed-in account.
    SelfRead,
    /// Queues of the routing file (names only).
    QueuesRead,
    /// Cases and complaints within the caller's reach: one by one, lists, search, hot issues
    /// (`people::privacy` decides which and how).
    CasesRead,
    /// Every case and complaint, not narrowed to the caller's queues: lists, detail, search,
    /// hot issues, deadlines, classification, the outbox.
    CasesReadAll,
    /// Merge, split, status, classification corrections, deadline extensions, naming and
    /// removing the units a case is about (its subjects).
    CasesDecide,
    /// Record a case's answer.
    CasesAnswer,
    /// Take workflow transitions on a case within reach; which ones the caller may take is
    /// the workflow's rule (`workflow::machine::may_take`: the centre decides, the unit
    /// holding the case works it).
    CasesWork,
    /// Source health and dead letters.
    IntakeRead,
    /// Replay a dead letter.
    IntakeReplay,
    /// The notification outbox (an investigator's: the notifications of their cases).
    OutboxRead,
    /// The audit record.
    AuditRead,
    /// Store a year of the working-day calendar (admins).
    CalendarManage,
    /// The statistics: counts and rates per unit, channel and category (no personal data);
    /// the monthly report; the list of accountability records.
    StatsRead,
    /// Read a case's accountability records (责任追究).
    AccountabilityRead,
    /// Record, edit and withdraw accountability records (责任追究): admins, and the
    /// investigators of the accountability queue ([`membership_granted`]).
    AccountabilityManage,
    /// Accounts and tokens from the console's 管理 pages (admins; the command line's `user`
    /// and `token` run with the server's file permissions instead).
    PeopleManage,
}

impl Permission {
    pub const ALL: [Permission; 16] = [
        Permission::SelfRead,
        Permission::QueuesRead,
        Permission::CasesRead,
        Permission::CasesReadAll,
        Permission::CasesDecide,
        Permission::CasesAnswer,
        Permission::CasesWork,
        Permission::IntakeRead,
        Permission::IntakeReplay,
        Permission::OutboxRead,
        Permission::AuditRead,
        Permission::CalendarManage,
        Permission::StatsRead,
        Permission::AccountabilityRead,
        Permission::AccountabilityManage,
        Permission::PeopleManage,
    ];

    /// The name refusals and the README use.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::SelfRead => "self.read",
            Permission::QueuesRead => "queues.read",
            Permission::CasesRead => "cases.read",
            Permission::CasesReadAll => "cases.read_all",
            Permission::CasesDecide => "cases.decide",
            Permission::CasesAnswer => "cases.answer",
            Permission::CasesWork => "cases.work",
            Permission::IntakeRead => "intake.read",
            Permission::IntakeReplay => "intake.replay",
            Permission::OutboxRead => "outbox.read",
            Permission::AuditRead => "audit.read",
            Permission::CalendarManage => "calendar.manage",
            Permission::StatsRead => "stats.read",
            Permission::AccountabilityRead => "accountability.read",
            Permission::AccountabilityManage => "accountability.manage",
            Permission::PeopleManage => "people.manage",
        }
    }
}

/// Whether `role` grants `permission`.
///
/// Investigators read within their queues: complaints and cases one by one, case lists,
/// search and hot issues (`cases.read`, scoped by `people::privacy` and the handlers), and the
/// outbox's notifications of their cases (`outbox.read`, scoped by its handler).
/// `cases.read_all` (every case, unscoped) is never theirs.
pub fn granted(role: Role, permission: Permission) -> bool {
    use Permission::*;
    match role {
        Role::Admin => true,
        Role::Triage => !matches!(
            permission,
            AuditRead | CalendarManage | AccountabilityManage | PeopleManage
        ),
        Role::Supervisor => matches!(
            permission,
            SelfRead
                | QueuesRead
                | CasesRead
                | CasesReadAll
                | IntakeRead
                | OutboxRead
                | AuditRead
                | StatsRead
                | AccountabilityRead
        ),
        Role::Investigator => matches!(
            permission,
            SelfRead | QueuesRead | CasesRead | CasesWork | OutboxRead
        ),
    }
}

/// Whether an investigator's membership of `queue` grants `permission` beyond their role:
/// the accountability queue (`accountability.queue`, the supervision bureau's) reads, records,
/// edits and withdraws accountability records (责任追究) of any case.
pub fn membership_granted(queue: &str, permission: Permission, accountability_queue: &str) -> bool {
    queue == accountability_queue
        && matches!(
            permission,
            Permission::AccountabilityRead | Permission::AccountabilityManage
        )
}

/// Whether any of `roles` grants `permission`.
pub fn any_granted(roles: &[Role], permission: Permission) -> bool {
    roles.iter().any(|role| granted(*role, permission))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_keeps_decisions_and_the_record_apart() {
        assert!(Permission::ALL.iter().all(|p| granted(Role::Admin, *p)));
        assert!(granted(Role::Triage, Permission::CasesDecide));
        assert!(!granted(Role::Triage, Permission::AuditRead));
        assert!(!granted(Role::Triage, Permission::CalendarManage));
        assert!(granted(Role::Admin, Permission::PeopleManage));
        for role in [Role::Triage, Role::Supervisor, Role::Investigator] {
            assert!(!granted(role, Permission::PeopleManage), "{role}");
        }
        assert!(granted(Role::Supervisor, Permission::AuditRead));
        assert!(!granted(Role::Supervisor, Permission::CasesDecide));
        assert!(!granted(Role::Supervisor, Permission::IntakeReplay));
        assert!(!granted(Role::Investigator, Permission::CasesReadAll));
        assert!(granted(Role::Investigator, Permission::CasesWork));
        assert!(!granted(Role::Supervisor, Permission::CasesWork));
        assert!(granted(Role::Investigator, Permission::OutboxRead));
        assert!(!granted(Role::Investigator, Permission::IntakeRead));
        assert!(any_granted(
            &[Role::Investigator, Role::Supervisor],
            Permission::CasesReadAll
        ));
        assert!(!any_granted(&[], Permission::SelfRead));
        // 责任追究: recorded by admins and the accountability queue, never by role alone.
        assert!(granted(Role::Admin, Permission::AccountabilityManage));
        assert!(!granted(Role::Triage, Permission::AccountabilityManage));
        assert!(!granted(Role::Supervisor, Permission::AccountabilityManage));
        assert!(!granted(
            Role::Investigator,
            Permission::AccountabilityManage
        ));
        assert!(granted(Role::Supervisor, Permission::AccountabilityRead));
        assert!(!granted(Role::Investigator, Permission::AccountabilityRead));
        assert!(membership_granted(
            "supervision",
            Permission::AccountabilityManage,
            "supervision"
        ));
        assert!(!membership_granted(
            "finance",
            Permission::AccountabilityManage,
            "supervision"
        ));
        assert!(!membership_granted(
            "supervision",
            Permission::CasesDecide,
            "supervision"
        ));
        let names: std::collections::HashSet<_> =
            Permission::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(names.len(), Permission::ALL.len());
    }
}
