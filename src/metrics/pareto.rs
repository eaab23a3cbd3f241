//! The Pareto front of (cost, error) points, both minimized (the report's
//! fronts and the explorer's model-scored candidates).

/// Indices of the points that no other point dominates, ordered by x then y.
///
/// Point `q` dominates `p` when `q.x <= p.x` and `q.y <= p.y` with at least one
/// strict inequality; identical points therefore do not dominate each other
/// and are both on the front. Points with a NaN coordinate are never on the
/// front and never dominate. Quadratic, which is fine for the tens of
/// variants a report shows and is obviously correct.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
    let valid = |p: &(f64, f64)| !p.0.is_nan() && !p.1.is_nan();
    let dominates =
        |q: &(f64, f64), p: &(f64, f64)| q.0 <= p.0 && q.1 <= p.1 && (q.0 < p.0 || q.1 < p.1);
    let mut front: Vec<usize> = (0..points.len())
        .filter(|&i| valid(&points[i]))
        .filter(|&i| !points.iter().any(|q| valid(q) && dominates(q, &points[i])))
        .collect();
    front.sort_by(|&i, &j| {
        points[i]
            .0
            .total_cmp(&points[j].0)
            .then(points[i].1.total_cmp(&points[j].1))
            .then(i.cmp(&j))
    });
    front
}
