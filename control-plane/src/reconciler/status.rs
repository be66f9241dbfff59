//! The connector state a user sees, derived from its tasks' states
//! (Confluent Cloud's rules: RUNNING when all tasks run, FAILED when all
//! failed, DEGRADED when some run and others do not).

/// One task as the status view needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskView<'a> {
    pub state: &'a str,
}

/// Derives the connector state from its target state and task states.
pub fn connector_state(target_state: &str, tasks: &[TaskView<'_>]) -> &'static str {
    if target_state == "STOPPED" {
        return "STOPPED";
    }
    if target_state == "PAUSED" {
        return "PAUSED";
    }
    if tasks.is_empty() {
        return "PROVISIONING";
    }
    let running = tasks.iter().filter(|t| t.state == "RUNNING").count();
    let failed = tasks.iter().filter(|t| t.state == "FAILED").count();
    if running == tasks.len() {
        "RUNNING"
    } else if failed == tasks.len() {
        "FAILED"
    } else if running == 0 && failed == 0 {
        // Nothing has run yet (tasks unassigned or still starting).
        "PROVISIONING"
    } else {
        "DEGRADED"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(state: &str) -> TaskView<'_> {
        TaskView { state }
    }

    #[test]
    fn derives_states() {
        assert_eq!(connector_state("RUNNING", &[]), "PROVISIONING");
        assert_eq!(
            connector_state("RUNNING", &[t("UNASSIGNED")]),
            "PROVISIONING"
        );
        assert_eq!(
            connector_state("RUNNING", &[t("RUNNING"), t("RUNNING")]),
            "RUNNING"
        );
        assert_eq!(
            connector_state("RUNNING", &[t("RUNNING"), t("UNASSIGNED")]),
            "DEGRADED"
        );
        assert_eq!(
            connector_state("RUNNING", &[t("RUNNING"), t("FAILED")]),
            "DEGRADED"
        );
        assert_eq!(
            connector_state("RUNNING", &[t("FAILED"), t("FAILED")]),
            "FAILED"
        );
        assert_eq!(connector_state("PAUSED", &[t("RUNNING")]), "PAUSED");
    }
}
