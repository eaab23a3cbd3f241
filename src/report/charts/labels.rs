//! Placing text labels next to scatter points without overlaps.

use super::{px, text_width};
use plotters::style::text_anchor::{HPos, VPos};

/// A pixel rectangle (x0, y0, x1, y1).
pub type BoxPx = (f64, f64, f64, f64);

/// Where a label goes: its anchor pixel and its alignment there.
pub type Placement = ((i32, i32), HPos, VPos);

fn overlap(a: BoxPx, b: BoxPx) -> f64 {
    let w = (a.2.min(b.2) - a.0.max(b.0)).max(0.0);
    let h = (a.3.min(b.3) - a.1.max(b.1)).max(0.0);
    w * h
}

/// Picks a label position next to each point (greedily, in order) so that
/// labels overlap neither each other, nor any point, nor `obstacles` (lines),
/// nor leave `area`: tries eight positions around the point and keeps the
/// first free one, else the one with the least overlap. Returns, per label,
/// the anchor pixel and the text alignment at it.
pub fn place_labels(
    points: &[(i32, i32)],
    labels: &[String],
    size: f64,
    area: BoxPx,
    obstacles: &[BoxPx],
) -> Vec<Placement> {
    let order: Vec<usize> = (0..points.len()).collect();
    place(points, labels, size, area, obstacles, &order, false)
        .into_iter()
        .map(|p| p.expect("every label is placed"))
        .collect()
}

/// Like [`place_labels`], but labels are placed in `order` (most important
/// first) and a label with no free position is left out (`None`) and takes
/// no room: crowded charts name what fits and key the rest elsewhere.
pub fn place_labels_where_free(
    points: &[(i32, i32)],
    labels: &[String],
    size: f64,
    area: BoxPx,
    obstacles: &[BoxPx],
    order: &[usize],
) -> Vec<Option<Placement>> {
    place(points, labels, size, area, obstacles, order, true)
}

#[allow(clippy::too_many_arguments)] // the two public faces' inputs and the mode
fn place(
    points: &[(i32, i32)],
    labels: &[String],
    size: f64,
    area: BoxPx,
    obstacles: &[BoxPx],
    order: &[usize],
    skip_blocked: bool,
) -> Vec<Option<Placement>> {
    let h = px(size) + 2.0;
    let gap = 8.0;
    let mut taken: Vec<BoxPx> = points
        .iter()
        .map(|&(x, y)| {
            let (x, y) = (x as f64, y as f64);
            (x - 6.0, y - 6.0, x + 6.0, y + 6.0)
        })
        .chain(obstacles.iter().copied())
        .collect();
    let d = gap * 0.7;
    // (anchor dx, dy, alignment), best-looking first.
    let cands = [
        (gap, 0.0, HPos::Left, VPos::Center),
        (-gap, 0.0, HPos::Right, VPos::Center),
        (0.0, -gap, HPos::Center, VPos::Bottom),
        (0.0, gap, HPos::Center, VPos::Top),
        (d, -d, HPos::Left, VPos::Bottom),
        (d, d, HPos::Left, VPos::Top),
        (-d, -d, HPos::Right, VPos::Bottom),
        (-d, d, HPos::Right, VPos::Top),
    ];
    let mut out = vec![None; points.len()];
    for &i in order {
        let ((x, y), label) = (points[i], &labels[i]);
        let (x, y) = (x as f64, y as f64);
        let w = text_width(label, size);
        let boxed = |&(dx, dy, hp, vp): &(f64, f64, HPos, VPos)| {
            let (ax, ay) = (x + dx, y + dy);
            let x0 = match hp {
                HPos::Left => ax,
                HPos::Right => ax - w,
                HPos::Center => ax - w / 2.0,
            };
            let y0 = match vp {
                VPos::Top => ay,
                VPos::Bottom => ay - h,
                VPos::Center => ay - h / 2.0,
            };
            (x0, y0, x0 + w, y0 + h)
        };
        let cost = |b: BoxPx| {
            let outside = (area.0 - b.0).max(0.0)
                + (b.2 - area.2).max(0.0)
                + (area.1 - b.1).max(0.0)
                + (b.3 - area.3).max(0.0);
            taken.iter().map(|t| overlap(*t, b)).sum::<f64>() + outside * h * 4.0
        };
        // min_by keeps the first of equal costs: the preferred position wins ties.
        let (best, bx) = cands
            .iter()
            .map(|c| (c, boxed(c)))
            .min_by(|a, b| cost(a.1).total_cmp(&cost(b.1)))
            .expect("eight candidates");
        if skip_blocked && cost(bx) > 0.0 {
            continue;
        }
        taken.push(bx);
        let (dx, dy, hp, vp) = *best;
        out[i] = Some((((x + dx).round() as i32, (y + dy).round() as i32), hp, vp));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_of_close_points_do_not_overlap() {
        // Three points in a row 20 px apart: right-of labels would collide.
        let pts = [(100, 100), (120, 100), (140, 100)];
        let labels: Vec<String> = ["alpha", "beta", "gamma"].map(String::from).to_vec();
        let placed = place_labels(&pts, &labels, 17.0, (0.0, 0.0, 400.0, 400.0), &[]);
        let boxes: Vec<BoxPx> = placed
            .iter()
            .zip(&labels)
            .map(|(((x, y), hp, vp), l)| {
                let (w, h) = (text_width(l, 17.0), px(17.0) + 2.0);
                let x0 = match hp {
                    HPos::Left => *x as f64,
                    HPos::Right => *x as f64 - w,
                    HPos::Center => *x as f64 - w / 2.0,
                };
                let y0 = match vp {
                    VPos::Top => *y as f64,
                    VPos::Bottom => *y as f64 - h,
                    VPos::Center => *y as f64 - h / 2.0,
                };
                (x0, y0, x0 + w, y0 + h)
            })
            .collect();
        for i in 0..3 {
            for j in i + 1..3 {
                assert_eq!(overlap(boxes[i], boxes[j]), 0.0, "{i} {j}: {boxes:?}");
            }
        }
        for b in &boxes {
            for &(x, y) in &pts {
                let (x, y) = (x as f64, y as f64);
                assert_eq!(overlap(*b, (x - 6.0, y - 6.0, x + 6.0, y + 6.0)), 0.0);
            }
        }
        // A lone point gets the preferred place: right of it.
        let lone = place_labels(
            &[(50, 50)],
            &labels[..1],
            17.0,
            (0.0, 0.0, 400.0, 400.0),
            &[],
        );
        assert_eq!(lone[0].0, (58, 50));
        assert!(matches!(lone[0].1, HPos::Left));
    }

    #[test]
    fn crowded_labels_are_left_out_in_priority_order() {
        // Nine points stacked 4 px apart: one label fits beside the pile at
        // each of a few sides; the rest have no free place.
        let pts: Vec<(i32, i32)> = (0..9).map(|i| (200, 200 + 4 * i)).collect();
        let labels: Vec<String> = (0..9).map(|i| format!("variant-{i}")).collect();
        let area = (0.0, 0.0, 400.0, 400.0);
        let order: Vec<usize> = (0..9).rev().collect();
        let placed = place_labels_where_free(&pts, &labels, 17.0, area, &[], &order);
        // The first in priority is always placed; some are left out.
        assert!(placed[8].is_some());
        let n = placed.iter().flatten().count();
        assert!((1..9).contains(&n), "{n} placed");
        // Placed ones overlap nothing; left-out ones reserved no room.
        let h = px(17.0) + 2.0;
        let boxes: Vec<BoxPx> = placed
            .iter()
            .zip(&labels)
            .filter_map(|(p, l)| p.map(|p| (p, l)))
            .map(|(((x, y), hp, vp), l)| {
                let w = text_width(l, 17.0);
                let x0 = match hp {
                    HPos::Left => x as f64,
                    HPos::Right => x as f64 - w,
                    HPos::Center => x as f64 - w / 2.0,
                };
                let y0 = match vp {
                    VPos::Top => y as f64,
                    VPos::Bottom => y as f64 - h,
                    VPos::Center => y as f64 - h / 2.0,
                };
                (x0, y0, x0 + w, y0 + h)
            })
            .collect();
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                assert_eq!(overlap(*a, *b), 0.0);
            }
            for &(x, y) in &pts {
                let (x, y) = (x as f64, y as f64);
                assert_eq!(overlap(*a, (x - 6.0, y - 6.0, x + 6.0, y + 6.0)), 0.0);
            }
        }
    }
}
