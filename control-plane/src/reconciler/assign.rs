//! Task placement: balanced by weight, sticky (a task moves only when its
//! worker is gone or draining, or to fix an imbalance), capacity respected,
//! and tasks of one connector spread across workers. Each worker pool is
//! planned on its own: a task runs only on a worker of its pool (its
//! organization's dedicated pool, or the shared pool).

use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
pub struct WorkerSlot {
    pub id: String,
    pub capacity: u32,
    pub draining: bool,
    /// The pool the worker serves (`None`: the shared pool).
    pub pool: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TaskSlot {
    pub connector_id: String,
    pub task_id: i32,
    pub worker: Option<String>,
    pub weight: u32,
    /// The pool the task must run in (`None`: the shared pool).
    pub pool: Option<String>,
}

/// A decision: task `index` (into the input slice) goes to `worker`
/// (`None`: unassign, because no worker can take it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub index: usize,
    pub worker: Option<String>,
}

struct Load<'a> {
    id: &'a str,
    capacity: u32,
    used: u32,
    per_connector: HashMap<&'a str, u32>,
}

impl<'a> Load<'a> {
    fn fits(&self, w: u32) -> bool {
        self.used + w <= self.capacity
    }
    fn add(&mut self, t: &'a TaskSlot) {
        self.used += t.weight;
        *self
            .per_connector
            .entry(t.connector_id.as_str())
            .or_default() += 1;
    }
    fn remove(&mut self, t: &'a TaskSlot) {
        self.used = self.used.saturating_sub(t.weight);
        if let Some(n) = self.per_connector.get_mut(t.connector_id.as_str()) {
            *n = n.saturating_sub(1);
        }
    }
    fn same_connector(&self, t: &TaskSlot) -> u32 {
        self.per_connector
            .get(t.connector_id.as_str())
            .copied()
            .unwrap_or(0)
    }
}

/// Plans the moves that bring `tasks` to a valid, balanced placement on
/// `workers`, each task within its pool (a task on a worker of another pool
/// moves; a task whose pool has no worker is unassigned).
pub fn plan(workers: &[WorkerSlot], tasks: &[TaskSlot]) -> Vec<Move> {
    let mut pools: BTreeMap<Option<&str>, (Vec<&WorkerSlot>, Vec<usize>)> = BTreeMap::new();
    for w in workers {
        pools.entry(w.pool.as_deref()).or_default().0.push(w);
    }
    for (i, t) in tasks.iter().enumerate() {
        pools.entry(t.pool.as_deref()).or_default().1.push(i);
    }
    let mut moves = Vec::new();
    for (workers, indexes) in pools.values() {
        if indexes.is_empty() {
            continue;
        }
        let pool_tasks: Vec<&TaskSlot> = indexes.iter().map(|&i| &tasks[i]).collect();
        moves.extend(plan_pool(workers, &pool_tasks).into_iter().map(|m| Move {
            index: indexes[m.index],
            worker: m.worker,
        }));
    }
    moves.sort_by_key(|m| m.index);
    moves
}

/// [`plan`] within one pool: `tasks` may only go to `workers`.
fn plan_pool(workers: &[&WorkerSlot], tasks: &[&TaskSlot]) -> Vec<Move> {
    let mut loads: Vec<Load<'_>> = workers
        .iter()
        .filter(|w| !w.draining)
        .map(|w| Load {
            id: &w.id,
            capacity: w.capacity,
            used: 0,
            per_connector: HashMap::new(),
        })
        .collect();
    let mut placement: Vec<Option<usize>> = vec![None; tasks.len()];
    let mut homeless = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        let at = t
            .worker
            .as_deref()
            .and_then(|w| loads.iter().position(|l| l.id == w));
        match at {
            Some(li) if loads[li].fits(t.weight) => {
                loads[li].add(t);
                placement[i] = Some(li);
            }
            _ => homeless.push(i),
        }
    }
    // Heaviest first places best; ties keep a stable order.
    homeless.sort_by_key(|&i| (std::cmp::Reverse(tasks[i].weight), i));
    for i in homeless {
        let t = &tasks[i];
        let best = loads
            .iter()
            .enumerate()
            .filter(|(_, l)| l.fits(t.weight))
            .min_by_key(|(_, l)| (l.same_connector(t), l.used, l.id))
            .map(|(li, _)| li);
        if let Some(li) = best {
            loads[li].add(t);
        }
        placement[i] = best;
    }
    rebalance(tasks, &mut loads, &mut placement);

    placement
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let target = p.map(|li| loads[li].id.to_string());
            (target != tasks[i].worker).then_some(Move {
                index: i,
                worker: target,
            })
        })
        .collect()
}

/// Moves single tasks from the fullest to the emptiest worker while that
/// narrows the gap, so a new worker takes its share and nothing else moves.
fn rebalance<'a>(tasks: &[&'a TaskSlot], loads: &mut [Load<'a>], placement: &mut [Option<usize>]) {
    if loads.len() < 2 {
        return;
    }
    for _ in 0..tasks.len() {
        let (hi, lo) = {
            let hi = (0..loads.len()).max_by_key(|&i| (loads[i].used, std::cmp::Reverse(i)));
            let lo = (0..loads.len()).min_by_key(|&i| (loads[i].used, i));
            match (hi, lo) {
                (Some(h), Some(l)) if h != l => (h, l),
                _ => return,
            }
        };
        // Move the lightest task of `hi` that strictly narrows the gap,
        // preferring one whose connector is not yet on `lo`.
        let gap = loads[hi].used - loads[lo].used;
        let candidate = placement
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                **p == Some(hi) && tasks[*i].weight < gap && loads[lo].fits(tasks[*i].weight)
            })
            .min_by_key(|(i, _)| (loads[lo].same_connector(tasks[*i]), tasks[*i].weight, *i))
            .map(|(i, _)| i);
        let Some(i) = candidate else { return };
        loads[hi].remove(tasks[i]);
        loads[lo].add(tasks[i]);
        placement[i] = Some(lo);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(id: &str, capacity: u32) -> WorkerSlot {
        WorkerSlot {
            id: id.into(),
            capacity,
            draining: false,
            pool: None,
        }
    }
    fn in_pool(mut slot: WorkerSlot, pool: &str) -> WorkerSlot {
        slot.pool = Some(pool.into());
        slot
    }
    fn t(c: &str, n: i32, worker: Option<&str>) -> TaskSlot {
        TaskSlot {
            connector_id: c.into(),
            task_id: n,
            worker: worker.map(Into::into),
            weight: 1,
            pool: None,
        }
    }
    fn pooled(mut task: TaskSlot, pool: &str) -> TaskSlot {
        task.pool = Some(pool.into());
        task
    }
    fn apply(tasks: &mut [TaskSlot], moves: &[Move]) {
        for m in moves {
            tasks[m.index].worker = m.worker.clone();
        }
    }
    fn count(tasks: &[TaskSlot], id: &str) -> usize {
        tasks
            .iter()
            .filter(|t| t.worker.as_deref() == Some(id))
            .count()
    }

    #[test]
    fn spreads_tasks_of_one_connector() {
        let workers = [w("a", 8), w("b", 8)];
        let mut tasks = vec![t("c1", 0, None), t("c1", 1, None)];
        let moves = plan(&workers, &tasks);
        apply(&mut tasks, &moves);
        assert_eq!(count(&tasks, "a"), 1);
        assert_eq!(count(&tasks, "b"), 1);
    }

    #[test]
    fn a_stable_placement_moves_nothing() {
        let workers = [w("a", 8), w("b", 8)];
        let tasks = vec![
            t("c1", 0, Some("a")),
            t("c2", 0, Some("b")),
            t("c3", 0, Some("a")),
        ];
        assert!(plan(&workers, &tasks).is_empty());
    }

    #[test]
    fn a_new_worker_takes_only_its_share() {
        let workers = [w("a", 8), w("b", 8), w("c", 8)];
        let mut tasks: Vec<TaskSlot> = (0..6)
            .map(|i| {
                t(
                    &format!("c{i}"),
                    0,
                    Some(if i % 2 == 0 { "a" } else { "b" }),
                )
            })
            .collect();
        let moves = plan(&workers, &tasks);
        assert_eq!(moves.len(), 2, "{moves:?}");
        apply(&mut tasks, &moves);
        assert_eq!(
            (count(&tasks, "a"), count(&tasks, "b"), count(&tasks, "c")),
            (2, 2, 2)
        );
    }

    #[test]
    fn tasks_leave_dead_and_draining_workers() {
        let workers = [
            w("a", 8),
            WorkerSlot {
                draining: true,
                ..w("b", 8)
            },
        ];
        let mut tasks = vec![t("c1", 0, Some("b")), t("c2", 0, Some("gone"))];
        let moves = plan(&workers, &tasks);
        apply(&mut tasks, &moves);
        assert_eq!(count(&tasks, "a"), 2);
    }

    #[test]
    fn capacity_is_respected() {
        let workers = [w("a", 1)];
        let mut tasks = vec![t("c1", 0, None), t("c2", 0, None)];
        let moves = plan(&workers, &tasks);
        apply(&mut tasks, &moves);
        assert_eq!(count(&tasks, "a"), 1);
        assert_eq!(tasks.iter().filter(|t| t.worker.is_none()).count(), 1);
    }

    #[test]
    fn tasks_stay_in_their_pool() {
        let workers = [
            w("shared-1", 8),
            w("shared-2", 8),
            in_pool(w("acme-1", 8), "acme"),
        ];
        let mut tasks = vec![
            t("c1", 0, None),
            t("c1", 1, None),
            pooled(t("a1", 0, None), "acme"),
            pooled(t("a1", 1, None), "acme"),
            pooled(t("a2", 0, None), "acme"),
        ];
        let moves = plan(&workers, &tasks);
        apply(&mut tasks, &moves);
        // The dedicated pool's one worker takes all of acme's tasks even
        // though the shared workers are emptier, and no shared task goes there.
        assert_eq!(count(&tasks, "acme-1"), 3);
        assert_eq!(count(&tasks, "shared-1"), 1);
        assert_eq!(count(&tasks, "shared-2"), 1);
        assert!(plan(&workers, &tasks).is_empty(), "placement is stable");
    }

    #[test]
    fn a_task_on_a_worker_of_another_pool_moves() {
        // The organization got a dedicated pool after its tasks were placed.
        let workers = [w("shared-1", 8), in_pool(w("acme-1", 8), "acme")];
        let mut tasks = vec![
            pooled(t("a1", 0, Some("shared-1")), "acme"),
            t("c1", 0, Some("shared-1")),
        ];
        let moves = plan(&workers, &tasks);
        assert_eq!(
            moves,
            vec![Move {
                index: 0,
                worker: Some("acme-1".into())
            }]
        );
        apply(&mut tasks, &moves);
        // And back to the shared pool when the dedicated pool is dropped.
        tasks[0].pool = None;
        let moves = plan(&workers, &tasks);
        assert_eq!(
            moves,
            vec![Move {
                index: 0,
                worker: Some("shared-1".into())
            }]
        );
    }

    #[test]
    fn a_pool_without_workers_leaves_its_tasks_unassigned() {
        let workers = [w("shared-1", 8)];
        let mut tasks = vec![
            pooled(t("a1", 0, Some("acme-gone")), "acme"),
            pooled(t("a1", 1, None), "acme"),
            t("c1", 0, None),
        ];
        let moves = plan(&workers, &tasks);
        apply(&mut tasks, &moves);
        assert_eq!(tasks[0].worker, None);
        assert_eq!(tasks[1].worker, None);
        assert_eq!(tasks[2].worker.as_deref(), Some("shared-1"));
    }

    #[test]
    fn capacity_and_balance_hold_per_pool() {
        let workers = [
            in_pool(w("acme-1", 2), "acme"),
            in_pool(w("acme-2", 2), "acme"),
            w("shared-1", 8),
        ];
        let mut tasks: Vec<TaskSlot> = (0..5).map(|i| pooled(t("a1", i, None), "acme")).collect();
        let moves = plan(&workers, &tasks);
        apply(&mut tasks, &moves);
        assert_eq!(count(&tasks, "acme-1"), 2);
        assert_eq!(count(&tasks, "acme-2"), 2);
        assert_eq!(
            count(&tasks, "shared-1"),
            0,
            "no spill into the shared pool"
        );
        assert_eq!(tasks.iter().filter(|t| t.worker.is_none()).count(), 1);
    }
}
