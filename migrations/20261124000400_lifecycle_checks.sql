-- The connector lifecycle (control-plane/src/lifecycle.rs) in the schema: a
-- task's state and an offset request's phase hold only values the
-- lifecycle's enums know, as connectors.target_state has from the start.
-- Which moves between task states are legal is the lifecycle's table,
-- enforced by the statements of control-plane/src/store/tasks.rs.
ALTER TABLE tasks ADD CONSTRAINT tasks_state_check
    CHECK (state IN ('UNASSIGNED', 'RUNNING', 'PAUSED', 'FAILED', 'RESTARTING'));

ALTER TABLE offset_requests ADD CONSTRAINT offset_requests_phase_check
    CHECK (phase IN ('PENDING', 'APPLIED', 'FAILED'));
