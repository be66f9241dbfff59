//! Task placement: balanced by weight, sticky (a task moves only when its
//! worker is gone or draining, or to fix an imbalance), capacity respected,
//! and tasks of one connector spread across workers.

use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct WorkerSlot {
    pub id: String,
    pub capacity: u32,
    pub draining: bool,
}

#[derive(Debug, Clone)]
pub struct TaskSlot {
    pub connector_id: String,
    pub task_id: i32,
    pub worker: Option<String>,
    pub weight: u32,
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

/// Plans the moves that bring `tasks` to a valid, balanced placement on `workers`.
pub fn plan(workers: &[WorkerSlot], tasks: &[TaskSlot]) -> Vec<Move> {
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
fn rebalance<'a>(tasks: &'a [TaskSlot], loads: &mut [Load<'a>], placement: &mut [Option<usize>]) {
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
            .min_by_key(|(i, _)| (loads[lo].same_connector(&tasks[*i]), tasks[*i].weight, *i))
            .map(|(i, _)| i);
        let Some(i) = candidate else { return };
        loads[hi].remove(&tasks[i]);
        loads[lo].add(&tasks[i]);
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
        }
    }
    fn t(c: &str, n: i32, worker: Option<&str>) -> TaskSlot {
        TaskSlot {
            connector_id: c.into(),
            task_id: n,
            worker: worker.map(Into::into),
            weight: 1,
        }
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
}
