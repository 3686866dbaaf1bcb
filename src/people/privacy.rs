//! Who sees a complaint, and with or without the complainant's identity.
//!
//! - Admins see everything, unmasked.
//! - Complaint-centre staff (`triage`) see everything; the identity is masked only when the
//!   complainant asked to stay anonymous.
//! - Supervisors see everything with the identity masked (statistics need no names), unless
//!   they are also triage.
//! - Investigators see a complaint only while its case is in one of their queues, in a queue
//!   informed of it, or held by one of their units in the workflow (routing may move a case's
//!   route without moving the case: a unit's accepted case corrected to the triage queue stays
//!   with the unit until the centre takes it back); anything else is "not found". The identity is masked when one of their
//!   queues is a unit the complaint is about (its target unit or its text names the unit or an
//!   alias, or the unit is a subject recorded on its case: the accused unit never learns who
//!   complained), when the complainant is anonymous, or when
//!   `privacy.investigator_identity = "masked"`.
//!
//! A caller with several roles gets the most open view any of them gives.

use super::Role;
use crate::store::people::QueueMembership;

/// How a complaint is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum View {
    /// Not at all: answered as if it did not exist.
    Hidden,
    /// Without the complainant's identity, and with personal data in the text masked.
    Masked,
    /// As stored.
    Full,
}

/// What the decision needs to know about the complaint.
#[derive(Debug, Clone, Default)]
pub struct Exposure<'a> {
    /// The queue the complaint's case is routed to (`None` before routing).
    pub queue: Option<&'a str>,
    /// Queues informed of the case.
    pub informed: &'a [String],
    /// The queue holding the case in the workflow, when it is not its route's.
    pub holder: Option<&'a str>,
    /// Queues whose unit the complaint is about: found on the fly (its target unit or text
    /// names the unit) or recorded as subjects of its case, less those staff removed
    /// (`store::subjects::effective_subjects`).
    pub concerned: &'a [String],
    /// The complainant asked to stay anonymous.
    pub anonymous: bool,
}

/// The view of a complaint for a caller with `roles` and `queues`.
pub fn view(
    roles: &[Role],
    queues: &[QueueMembership],
    exposure: &Exposure<'_>,
    investigators_masked: bool,
) -> View {
    roles
        .iter()
        .map(|role| view_for(*role, queues, exposure, investigators_masked))
        .max()
        .unwrap_or(View::Hidden)
}

fn view_for(
    role: Role,
    queues: &[QueueMembership],
    exposure: &Exposure<'_>,
    investigators_masked: bool,
) -> View {
    match role {
        Role::Admin => View::Full,
        Role::Triage if exposure.anonymous => View::Masked,
        Role::Triage => View::Full,
        Role::Supervisor => View::Masked,
        Role::Investigator => {
            let mine = |queue: &str| queues.iter().any(|m| m.queue == queue);
            let in_reach = exposure.queue.is_some_and(mine)
                || exposure.informed.iter().any(|q| mine(q))
                || exposure.holder.is_some_and(mine);
            if !in_reach {
                View::Hidden
            } else if exposure.anonymous
                || investigators_masked
                || exposure.concerned.iter().any(|q| mine(q))
            {
                View::Masked
            } else {
                View::Full
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(key: &str) -> QueueMembership {
        QueueMembership {
            queue: key.into(),
            lead: false,
        }
    }

    #[test]
    fn investigators_see_their_queues_and_never_whom_their_unit_is_accused_by() {
        let informed = vec!["finance".to_string()];
        let concerned = vec!["supervision".to_string()];
        let routed = |queue| Exposure {
            queue: Some(queue),
            informed: &informed,
            holder: None,
            concerned: &[],
            anonymous: false,
        };
        let investigator = [Role::Investigator];
        let supervision = [queue("supervision")];
        assert_eq!(
            view(&investigator, &supervision, &routed("supervision"), false),
            View::Full
        );
        assert_eq!(
            view(&investigator, &supervision, &routed("audit"), false),
            View::Hidden
        );
        assert_eq!(
            view(&investigator, &[queue("finance")], &routed("audit"), false),
            View::Full,
            "an informed queue sees the case"
        );
        let about_them = Exposure {
            concerned: &concerned,
            ..routed("supervision")
        };
        assert_eq!(
            view(&investigator, &supervision, &about_them, false),
            View::Masked
        );
        assert_eq!(
            view(&investigator, &supervision, &routed("supervision"), true),
            View::Masked
        );
        let held = Exposure {
            holder: Some("supervision"),
            ..routed("triage")
        };
        assert_eq!(
            view(&investigator, &supervision, &held, false),
            View::Full,
            "the unit holding the case sees it wherever its route went"
        );
        let unrouted = Exposure::default();
        assert_eq!(
            view(&investigator, &supervision, &unrouted, false),
            View::Hidden
        );
    }

    #[test]
    fn the_centre_sees_all_supervisors_see_masked_and_anonymity_holds_for_all_but_admins() {
        let open = Exposure {
            queue: Some("audit"),
            ..Exposure::default()
        };
        let anonymous = Exposure {
            anonymous: true,
            ..open.clone()
        };
        assert_eq!(view(&[Role::Triage], &[], &open, false), View::Full);
        assert_eq!(view(&[Role::Triage], &[], &anonymous, false), View::Masked);
        assert_eq!(view(&[Role::Admin], &[], &anonymous, false), View::Full);
        assert_eq!(view(&[Role::Supervisor], &[], &open, false), View::Masked);
        assert_eq!(
            view(&[Role::Supervisor, Role::Triage], &[], &open, false),
            View::Full
        );
        assert_eq!(view(&[], &[], &open, false), View::Hidden);
    }
}
