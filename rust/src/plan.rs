//! The static shape of a batch: which node waits for which, who consumes whose output,
//! and which nodes share a timeout group. Built (and validated) once per `run_plan` call;
//! the scheduler only reads it.

use std::collections::HashMap;
use std::fmt;

/// A validation error, reported to Python as `ValueError` with this exact message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError(pub String);

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}

/// The graph as given by the caller, before validation. Every list is per node. Edges are
/// signed so that a negative index from Python is reported as a range error, not an overflow.
#[derive(Debug, Clone, Default)]
pub struct PlanSpec {
    pub deps_ok: Vec<Vec<i64>>,
    pub deps_any: Vec<Vec<i64>>,
    pub inputs: Vec<Vec<i64>>,
    pub priority: Vec<f64>,
    pub group: Vec<i64>,
}

/// The validated graph plus the reverse edges the scheduler needs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub deps_ok: Vec<Vec<usize>>,
    /// Ordering-only predecessors (any status).
    pub deps_any: Vec<Vec<usize>>,
    /// Producers whose output is passed to `run`, in the caller's order (duplicates kept:
    /// the i-th input object corresponds to the i-th entry).
    pub inputs: Vec<Vec<usize>>,
    pub priority: Vec<f64>,
    /// Dense group index per node (caller ids are arbitrary integers).
    pub group: Vec<usize>,
    /// Nodes of each dense group, in index order.
    pub group_members: Vec<Vec<usize>>,
    /// Number of distinct predecessors (deps_ok ∪ deps_any ∪ inputs) per node.
    pub n_preds: Vec<usize>,
    /// Distinct successors per node: the nodes whose wait count drops when it finishes.
    pub successors: Vec<Vec<usize>>,
    /// Distinct producers listed in `inputs` per node (one refcount unit per consumer node).
    pub input_producers: Vec<Vec<usize>>,
    /// Number of distinct consumer nodes of each node's output.
    pub n_consumers: Vec<usize>,
}

impl Plan {
    pub fn len(&self) -> usize {
        self.priority.len()
    }

    pub fn is_empty(&self) -> bool {
        self.priority.is_empty()
    }

    pub fn n_groups(&self) -> usize {
        self.group_members.len()
    }

    /// Validates the spec and derives reverse edges. Errors name the offending list, node and
    /// value so the Python caller can find the bug in its plan builder.
    pub fn new(spec: PlanSpec) -> Result<Plan, PlanError> {
        let n = spec.deps_ok.len();
        let lengths = [
            ("deps_any", spec.deps_any.len()),
            ("inputs", spec.inputs.len()),
            ("priority", spec.priority.len()),
            ("group", spec.group.len()),
        ];
        for (name, len) in lengths {
            if len != n {
                return Err(PlanError(format!(
                    "run_plan: all per-node lists must have the same length, but deps_ok has {n} \
                     entries and {name} has {len}"
                )));
            }
        }
        for (i, p) in spec.priority.iter().enumerate() {
            if p.is_nan() {
                return Err(PlanError(format!("run_plan: priority[{i}] is NaN")));
            }
        }
        let check = |name: &str, lists: Vec<Vec<i64>>| -> Result<Vec<Vec<usize>>, PlanError> {
            let mut out = Vec::with_capacity(lists.len());
            for (node, preds) in lists.into_iter().enumerate() {
                let mut checked = Vec::with_capacity(preds.len());
                for p in preds {
                    if p < 0 || p as u64 >= n as u64 {
                        return Err(PlanError(format!(
                            "run_plan: {name}[{node}] contains {p}, which is out of range for a \
                             plan of {n} nodes"
                        )));
                    }
                    let p = p as usize;
                    if p >= node {
                        return Err(PlanError(format!(
                            "run_plan: {name}[{node}] contains {p}; edges must go from a lower to \
                             a higher node index (the plan must be topologically ordered)"
                        )));
                    }
                    checked.push(p);
                }
                out.push(checked);
            }
            Ok(out)
        };
        let deps_ok = check("deps_ok", spec.deps_ok)?;
        let deps_any = check("deps_any", spec.deps_any)?;
        let inputs = check("inputs", spec.inputs)?;

        // Dense group ids in order of first appearance.
        let mut group_index: HashMap<i64, usize> = HashMap::new();
        let mut group = Vec::with_capacity(n);
        let mut group_members: Vec<Vec<usize>> = Vec::new();
        for (node, &g) in spec.group.iter().enumerate() {
            let next = group_index.len();
            let dense = *group_index.entry(g).or_insert(next);
            if dense == group_members.len() {
                group_members.push(Vec::new());
            }
            group_members[dense].push(node);
            group.push(dense);
        }

        let mut n_preds = vec![0; n];
        let mut successors: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut input_producers: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut n_consumers = vec![0; n];
        // `seen[p] == node + 1` marks p as already counted for `node` (avoids a set per node).
        let mut seen = vec![0usize; n];
        let mut seen_input = vec![0usize; n];
        for node in 0..n {
            let all = deps_ok[node]
                .iter()
                .chain(&deps_any[node])
                .chain(&inputs[node]);
            for &p in all {
                if seen[p] != node + 1 {
                    seen[p] = node + 1;
                    n_preds[node] += 1;
                    successors[p].push(node);
                }
            }
            for &p in &inputs[node] {
                if seen_input[p] != node + 1 {
                    seen_input[p] = node + 1;
                    input_producers[node].push(p);
                    n_consumers[p] += 1;
                }
            }
        }

        Ok(Plan {
            deps_ok,
            deps_any,
            inputs,
            priority: spec.priority,
            group,
            group_members,
            n_preds,
            successors,
            input_producers,
            n_consumers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(n: usize) -> PlanSpec {
        PlanSpec {
            deps_ok: vec![vec![]; n],
            deps_any: vec![vec![]; n],
            inputs: vec![vec![]; n],
            priority: vec![0.0; n],
            group: vec![0; n],
        }
    }

    #[test]
    fn length_mismatch_is_reported() {
        let mut s = spec(3);
        s.priority.pop();
        let err = Plan::new(s).unwrap_err();
        assert!(
            err.0.contains("deps_ok has 3 entries and priority has 2"),
            "{err}"
        );
    }

    #[test]
    fn out_of_range_and_backward_edges_are_rejected() {
        let mut s = spec(3);
        s.inputs[1] = vec![7];
        let err = Plan::new(s).unwrap_err();
        assert!(err.0.contains("inputs[1] contains 7"), "{err}");
        assert!(
            err.0.contains("out of range for a plan of 3 nodes"),
            "{err}"
        );

        let mut s = spec(3);
        s.deps_ok[2] = vec![-1];
        let err = Plan::new(s).unwrap_err();
        assert!(
            err.0
                .contains("deps_ok[2] contains -1, which is out of range"),
            "{err}"
        );

        let mut s = spec(3);
        s.deps_any[1] = vec![2];
        let err = Plan::new(s).unwrap_err();
        assert!(err.0.contains("deps_any[1] contains 2"), "{err}");

        let mut s = spec(3);
        s.deps_ok[1] = vec![1];
        assert!(Plan::new(s).is_err(), "self loops are cycles");
    }

    #[test]
    fn nan_priority_is_rejected() {
        let mut s = spec(2);
        s.priority[1] = f64::NAN;
        assert!(Plan::new(s).unwrap_err().0.contains("priority[1] is NaN"));
    }

    #[test]
    fn reverse_edges_are_deduplicated() {
        let mut s = spec(3);
        s.deps_ok[2] = vec![0, 1];
        s.deps_any[2] = vec![0];
        s.inputs[2] = vec![0, 0, 1];
        s.group = vec![10, -4, 10];
        let p = Plan::new(s).unwrap();
        assert_eq!(p.n_preds, vec![0, 0, 2]);
        assert_eq!(p.successors, vec![vec![2], vec![2], vec![]]);
        assert_eq!(p.input_producers[2], vec![0, 1]);
        assert_eq!(p.n_consumers, vec![1, 1, 0]);
        assert_eq!(
            p.inputs[2],
            vec![0, 0, 1],
            "input order and duplicates kept"
        );
        assert_eq!(p.group, vec![0, 1, 0]);
        assert_eq!(p.group_members, vec![vec![0, 2], vec![1]]);
    }
}
