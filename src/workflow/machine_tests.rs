use super::*;

fn membership(queue: &str, lead: bool) -> QueueMembership {
    QueueMembership {
        queue: queue.into(),
        lead,
    }
}

#[test]
fn the_main_path_runs_from_new_to_closed() {
    let path = [
        (Action::Triage, State::Triaged),
        (Action::Assign, State::Assigned),
        (Action::Accept, State::Accepted),
        (Action::Start, State::Investigating),
        (Action::Answer, State::Answered),
        (Action::Close, State::Closed),
    ];
    let mut state = State::New;
    for (action, expected) in path {
        state = next(state, action).unwrap_or_else(|| panic!("{action} from {state}"));
        assert_eq!(state, expected, "after {action}");
    }
}

#[test]
fn a_return_goes_back_to_triage_and_a_reopen_back_to_the_unit() {
    for from in [
        State::Assigned,
        State::Accepted,
        State::Investigating,
        State::Reopened,
    ] {
        assert_eq!(next(from, Action::Return), Some(State::Returned), "{from}");
    }
    assert_eq!(next(State::Returned, Action::Assign), Some(State::Assigned));
    assert_eq!(next(State::Answered, Action::Reopen), Some(State::Reopened));
    assert_eq!(next(State::Closed, Action::Reopen), Some(State::Reopened));
    assert_eq!(next(State::Reopened, Action::Accept), Some(State::Accepted));
}

#[test]
fn illegal_transitions_are_refused() {
    let refused = [
        (State::New, Action::Accept),
        (State::Assigned, Action::Answer),
        (State::Assigned, Action::Start),
        (State::Investigating, Action::Close),
        (State::Accepted, Action::Reopen),
        (State::Closed, Action::Answer),
        (State::Closed, Action::Merge),
        (State::Merged, Action::Reopen),
        (State::Merged, Action::Merge),
        (State::Answered, Action::Return),
        (State::New, Action::AssignInvestigator),
    ];
    for (from, action) in refused {
        assert_eq!(next(from, action), None, "{action} from {from}");
        assert!(!allowed(from).contains(&action), "{action} from {from}");
    }
}

#[test]
fn merged_is_terminal_and_closed_only_reopens() {
    assert!(allowed(State::Merged).is_empty());
    assert_eq!(allowed(State::Closed), [Action::Reopen]);
    for from in State::ALL {
        if from != State::Closed && from != State::Merged {
            assert_eq!(next(from, Action::Merge), Some(State::Merged), "{from}");
        }
    }
}

#[test]
fn assigning_an_investigator_keeps_the_state() {
    for from in State::ALL {
        if let Some(to) = next(from, Action::AssignInvestigator) {
            assert_eq!(to, from);
            assert!(from.with_unit(), "{from}");
        }
    }
}

#[test]
fn every_allowed_list_agrees_with_next() {
    for from in State::ALL {
        let listed = allowed(from);
        for action in Action::ALL {
            assert_eq!(
                listed.contains(&action),
                next(from, action).is_some(),
                "{action} from {from}"
            );
        }
    }
}

#[test]
fn the_centre_decides_and_the_unit_works_its_own_cases() {
    let triage = Caller {
        roles: &[Role::Triage],
        queues: &[],
    };
    let queues = [membership("env", false)];
    let investigator = Caller {
        roles: &[Role::Investigator],
        queues: &queues,
    };
    let lead_queues = [membership("env", true)];
    let lead = Caller {
        roles: &[Role::Investigator],
        queues: &lead_queues,
    };
    let admin = Caller {
        roles: &[Role::Admin],
        queues: &[],
    };
    let supervisor = Caller {
        roles: &[Role::Supervisor],
        queues: &[],
    };
    for action in [Action::Assign, Action::Close, Action::Reopen, Action::Merge] {
        assert!(may_take(triage, action, Some("env")), "{action}");
        assert!(!may_take(investigator, action, Some("env")), "{action}");
    }
    for action in [
        Action::Accept,
        Action::Start,
        Action::Answer,
        Action::Return,
    ] {
        assert!(may_take(investigator, action, Some("env")), "{action}");
        assert!(
            !may_take(investigator, action, Some("roads")),
            "{action} on another unit's case"
        );
        assert!(!may_take(investigator, action, None), "{action} unheld");
        assert!(!may_take(triage, action, Some("env")), "{action}");
    }
    assert!(!may_take(
        investigator,
        Action::AssignInvestigator,
        Some("env")
    ));
    assert!(may_take(lead, Action::AssignInvestigator, Some("env")));
    assert!(!may_take(lead, Action::AssignInvestigator, Some("roads")));
    for action in Action::ALL {
        assert!(may_take(admin, action, Some("env")), "{action}");
        assert!(!may_take(supervisor, action, Some("env")), "{action}");
    }
}

#[test]
fn names_parse_back() {
    for state in State::ALL {
        assert_eq!(state.as_str().parse::<State>(), Ok(state));
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(json, format!("\"{state}\""));
    }
    for action in Action::ALL {
        let json = serde_json::to_string(&action).unwrap();
        assert_eq!(json, format!("\"{action}\""));
    }
    assert!(
        "done"
            .parse::<State>()
            .unwrap_err()
            .contains("investigating")
    );
}
